"""The signed session cookie, renewed every few minutes rather than on every response.

A signed-in session is permanent: its cookie expires PERMANENT_SESSION_LIFETIME (12 hours)
after it was last set, and the signature's own timestamp is checked against the same
lifetime when the cookie comes back. Flask sets that cookie again on every response to
slide the window; signing and sending it is about a tenth of the cheapest signed-in page.
Here it is set again only when the session changed or when it was last set RENEW_SECONDS
ago or more, so twelve hours of idleness sign a person out at most five minutes early.
"""

from __future__ import annotations

import time

from flask import Flask
from flask.sessions import SecureCookieSessionInterface, SessionMixin
from flask.wrappers import Response

RENEW_SECONDS = 5 * 60
STAMP = "_set"  # when the cookie was last set, in the cookie itself (signed like the rest)


def now() -> int:
    """The clock of the renewals (a function, so a test can move it)."""
    return int(time.time())


class RenewingSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions; a permanent one is renewed at most every
    RENEW_SECONDS unless it changed."""

    def should_set_cookie(self, app: Flask, session: SessionMixin) -> bool:
        if session.modified:
            return True
        return bool(session.permanent) and now() - int(session.get(STAMP, 0)) >= RENEW_SECONDS

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        # An emptied session (signing out) stays empty, so Flask deletes its cookie.
        if session and session.permanent and self.should_set_cookie(app, session):
            session[STAMP] = now()
        super().save_session(app, session, response)

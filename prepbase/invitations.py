"""The invitation e-mail."""

from __future__ import annotations

from flask import current_app, g
from sqlalchemy.orm import Session

from prepbase.links import external_url
from prepbase.models import ROLE_LABELS, Role, User
from prepbase.notify import queue_email


def send_invitation(session: Session, user: User, raw_token: str) -> None:
    """Queue the e-mail with the one-time link that lets `user` set a password."""
    link = external_url("tenant.auth.accept_invite", token=raw_token)
    days = current_app.config["INVITE_TTL_DAYS"]
    role = ROLE_LABELS[Role(user.role)].lower()
    queue_email(
        session,
        user.email,
        f"You are invited to {g.tenant.name} on PrepBase",
        f"Hello {user.name},\n\n{g.tenant.name} invited you to PrepBase as a {role}.\n"
        f"Open this link to choose your password (it works once, for {days} days):\n\n"
        f"{link}\n\nYour sign-in page afterwards: "
        f"{external_url('tenant.auth.login')}\n",
    )

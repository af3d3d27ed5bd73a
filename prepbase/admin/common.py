"""What several admin pages do alike: refuse a form, invite someone, go back, offer whom
a session may be reassigned to, load a student with what their profile header shows."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import timedelta
from typing import Any

from flask import current_app, flash, g, request
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy.orm import joinedload
from werkzeug.wrappers import Response

from prepbase import people, slots
from prepbase.errors import DomainError
from prepbase.extensions import db
from prepbase.forms import SelectChoice, apply_domain_error
from prepbase.htmx import hx_redirect
from prepbase.mail.accounts import send_invitation
from prepbase.models import Student, User
from prepbase.session_forms import staff_choices

# A student's tabs show the family's name in their header: load it with the student, in
# the same statement (`get_or_404(Student, id, PROFILE)`), not lazily one more.
PROFILE = joinedload(Student.family)


def refused(form: FlaskForm, exc: DomainError) -> None:
    """A domain verb said no: keep nothing of the action, show why on the form."""
    db.session.rollback()
    apply_domain_error(form, exc)


def invite_ttl() -> timedelta:
    """How long an invitation link works (INVITE_TTL_DAYS)."""
    return timedelta(days=current_app.config["INVITE_TTL_DAYS"])


def invite(form: FlaskForm, done_url: Callable[[], str], **who: Any) -> Response | None:
    """Invite someone (one transaction with the e-mail); the redirect, or None if refused
    (the form then carries the message)."""
    try:
        email = form.email.data  # type: ignore[attr-defined]  # every invitation form has one
        user, raw = people.invite_user(
            db.session, current_user, email=email, ttl=invite_ttl(), **who
        )
        send_invitation(db.session, g.tenant, user, raw)
    except DomainError as exc:
        refused(form, exc)
        return None
    db.session.commit()
    flash(f"Invitation sent to {user.email}.", "success")
    return hx_redirect(done_url())


def back_or(fallback: str) -> str:
    """The page the button was pressed on when it is one of this business's, else
    `fallback` (never another site, nor another business's pages)."""
    url = request.referrer
    if url and url.startswith(request.host_url + g.tenant.slug + "/"):
        return url
    return fallback


def reassign_choices(
    services: Iterable[str], staff_id: int, candidates: Sequence[User] | None = None
) -> list[SelectChoice]:
    """The active staff members sessions of `services` may be reassigned to: everyone
    who offers all of them but `staff_id`, who has them now. `candidates` (the business's
    active staff, `slots.bookable_staff`) when the page has them already."""
    if candidates is None:
        candidates = slots.bookable_staff(db.session)
    wanted = set(services)
    return staff_choices([u for u in candidates if u.id != staff_id and wanted <= set(u.services)])

"""E-mails about accounts: the invitation and the password reset, each with a one-time
link. Both are sent from a request (an admin inviting, a person asking for a reset)."""

from __future__ import annotations

from flask import current_app
from sqlalchemy.orm import Session

from prepbase.mail.links import external_url
from prepbase.mail.outbox import queue_message
from prepbase.models import ROLE_LABELS, Role, Tenant, User


def send_invitation(session: Session, tenant: Tenant, user: User, raw_token: str) -> None:
    """Queue the e-mail with the one-time link that lets `user` set a password."""
    queue_message(
        session,
        tenant,
        user,
        f"You are invited to {tenant.name} on PrepBase",
        "invitation",
        role=ROLE_LABELS[Role(user.role)].lower(),
        days=current_app.config["INVITE_TTL_DAYS"],
        link=external_url("tenant.auth.accept_invite", tenant_slug=tenant.slug, token=raw_token),
        login=external_url("tenant.auth.login", tenant_slug=tenant.slug),
    )


def send_password_reset(session: Session, tenant: Tenant, user: User, raw_token: str) -> None:
    """Queue the e-mail with the one-time link that lets `user` choose a new password."""
    queue_message(
        session,
        tenant,
        user,
        f"Reset your {tenant.name} password",
        "password_reset",
        minutes=current_app.config["RESET_TTL_MINUTES"],
        link=external_url("tenant.auth.reset_password", tenant_slug=tenant.slug, token=raw_token),
    )

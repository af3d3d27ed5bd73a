"""E-mails about accounts: the invitation and the password reset, each with a one-time
link, and the sign-in links of a person who forgot their business's URL name. All are
sent from a request (an admin inviting, a person asking)."""

from __future__ import annotations

from flask import current_app
from sqlalchemy.orm import Session

from prepbase.mail.links import external_url
from prepbase.mail.outbox import queue_message
from prepbase.models import ROLE_LABELS, Role, Tenant, User
from prepbase.tenancy import as_tenant


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


def send_sign_in_links(session: Session, accounts: list[tuple[Tenant, User]]) -> list[int]:
    """Queue, for each business where a person has an account, an e-mail with its sign-in
    link; returns the businesses whose outbox got one.

    One e-mail per business, each in that business's outbox (like all its mail: its
    Reply-To, its Settings → E-mail), so no business's rows name another business."""
    queued = []
    for tenant, user in accounts:
        with as_tenant(tenant.id):
            queue_message(
                session,
                tenant,
                user,
                f"Your sign-in link for {tenant.name}",
                "sign_in_link",
                role=ROLE_LABELS[Role(user.role)].lower(),
                login=external_url("tenant.auth.login", tenant_slug=tenant.slug),
                forgot=external_url("tenant.auth.forgot_password", tenant_slug=tenant.slug),
            )
            session.flush()
        queued.append(tenant.id)
    return queued

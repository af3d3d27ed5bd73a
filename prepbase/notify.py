"""E-mail: an outbox written inside the user's transaction, delivered after the commit.

Writing the message in the same transaction as the change means an invitation is never
sent for a user that was rolled back, and a message whose delivery fails stays pending
for `flask prepbase send-mail` instead of being lost.
"""

from __future__ import annotations

import logging
import smtplib
from datetime import datetime, timedelta
from email.message import EmailMessage

from flask import current_app, g, has_request_context
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from prepbase.models import OutboundEmail, utcnow

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
# A message claimed longer ago than this was left by a sender that crashed mid-send.
STALE_CLAIM = timedelta(minutes=15)


def queue_email(session: Session, to_addr: str, subject: str, body: str) -> OutboundEmail:
    """Add a message to the outbox of the current tenant; it is sent after commit."""
    message = OutboundEmail(to_addr=to_addr, subject=subject, body=body)
    session.add(message)
    if has_request_context():
        g.outbox_pending = True
    return message


def _send(message: OutboundEmail) -> None:
    cfg = current_app.config
    email = EmailMessage()
    email["From"] = cfg["MAIL_FROM"]
    email["To"] = message.to_addr
    email["Subject"] = message.subject
    email.set_content(message.body)
    if cfg["MAIL_BACKEND"] == "console":
        log.info("e-mail to %s: %s\n%s", message.to_addr, message.subject, message.body)
        return
    smtp_cls = smtplib.SMTP_SSL if cfg["MAIL_USE_SSL"] else smtplib.SMTP
    with smtp_cls(cfg["MAIL_HOST"], cfg["MAIL_PORT"], timeout=10) as smtp:
        if cfg["MAIL_USE_TLS"]:
            smtp.starttls()
        if cfg["MAIL_USERNAME"]:
            smtp.login(cfg["MAIL_USERNAME"], cfg["MAIL_PASSWORD"] or "")
        smtp.send_message(email)


def requeue_stale(session: Session, now: datetime | None = None) -> int:
    """Put back messages whose sender died after claiming them (they may go out twice,
    which beats never: SMTP gives no way to know whether the crashed send happened)."""
    cutoff = (now or utcnow()) - STALE_CLAIM
    requeued = session.execute(
        update(OutboundEmail)
        .where(OutboundEmail.status == "sending", OutboundEmail.claimed_at < cutoff)
        .values(status="pending")
        .execution_options(synchronize_session=False)
    ).rowcount
    session.commit()
    return requeued or 0


def deliver_pending(session: Session, limit: int = 50) -> int:
    """Send pending messages of the tenant in scope; returns how many went out.

    Each message is claimed with a conditional UPDATE first, so two processes running
    this at once never send the same message twice.
    """
    ids = session.scalars(
        select(OutboundEmail.id)
        .where(OutboundEmail.status == "pending", OutboundEmail.attempts < MAX_ATTEMPTS)
        .order_by(OutboundEmail.id)
        .limit(limit)
    ).all()
    session.commit()
    sent = 0
    for message_id in ids:
        claimed = session.execute(
            update(OutboundEmail)
            .where(OutboundEmail.id == message_id, OutboundEmail.status == "pending")
            .values(status="sending", attempts=OutboundEmail.attempts + 1, claimed_at=utcnow())
            .execution_options(synchronize_session=False)
        ).rowcount
        session.commit()
        if not claimed:
            continue
        message = session.execute(
            select(OutboundEmail).where(OutboundEmail.id == message_id)
        ).scalar_one()
        try:
            _send(message)
        except (OSError, smtplib.SMTPException) as exc:
            log.warning("e-mail %s to %s failed: %s", message.id, message.to_addr, exc)
            message.status = "pending" if message.attempts < MAX_ATTEMPTS else "failed"
            message.last_error = str(exc)[:1000]
        else:
            message.status = "sent"
            message.sent_at = utcnow()
            sent += 1
        session.commit()
    return sent

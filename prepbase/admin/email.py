"""Settings → E-mail: the messages that finally failed, and Resend."""

from __future__ import annotations

from typing import Any

from flask import flash, url_for
from werkzeug.wrappers import Response

from prepbase.admin.blueprint import bp
from prepbase.errors import DomainError
from prepbase.extensions import db
from prepbase.forms import ActionForm
from prepbase.htmx import hx_redirect, render
from prepbase.mail import outbox
from prepbase.models import OutboundEmail
from prepbase.tenant_url import get_or_404


@bp.context_processor
def _email_section() -> dict[str, Any]:
    # The Settings page shows how e-mail is doing without its view knowing about it.
    return {"email_counts": lambda: outbox.count_by_status(db.session)}


@bp.get("/settings/email")
def email_settings() -> Response:
    return render(
        "admin/settings/email.html",
        failed=outbox.failed_messages(db.session),
        counts=outbox.count_by_status(db.session),
        shown=outbox.FAILED_SHOWN,
        max_attempts=outbox.MAX_ATTEMPTS,
        action_form=ActionForm(),
    )


@bp.post("/settings/email/<id:message_id>/resend")
def email_resend(message_id: int) -> Response:
    message = get_or_404(OutboundEmail, message_id)
    form = ActionForm()
    if not form.validate_on_submit():
        flash("Your form expired. Reload the page and try again.", "error")
        return hx_redirect(url_for(".email_settings"))
    try:
        outbox.resend(db.session, message)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        db.session.commit()
        flash(f"The message to {message.to_addr} is being sent again.", "success")
    return hx_redirect(url_for(".email_settings"))

"""POST /stripe/webhook: Stripe's Connect events, verified against the raw body."""

from __future__ import annotations

import logging

from flask import current_app, jsonify, request
from werkzeug.wrappers import Response

from prepbase import payments, stripe_gateway
from prepbase.billing.blueprint import bp
from prepbase.billing.events import handle_event
from prepbase.extensions import db
from prepbase.stripe_gateway import field

log = logging.getLogger(__name__)


def _answer(status: int, message: str) -> Response:
    response = jsonify(received=status == 200, message=message)
    response.status_code = status
    return response


@bp.post("/stripe/webhook")
def stripe_webhook() -> Response:
    """Verify the signature, record the event once, act on it as its business."""
    secret = current_app.config.get("STRIPE_CONNECT_WEBHOOK_SECRET")
    if not secret:
        # Stripe keeps retrying for days, so events are not lost while this is fixed.
        return _answer(503, "online payments are not configured on this installation")
    try:
        event = stripe_gateway.verified_event(
            request.get_data(), request.headers.get("Stripe-Signature"), secret
        )
    except stripe_gateway.SignatureVerificationError:
        return _answer(400, "invalid signature")
    except ValueError:  # not JSON, not UTF-8: signed or not, nothing to act on
        return _answer(400, "invalid payload")
    if not (isinstance(field(event, "id"), str) and isinstance(field(event, "type"), str)):
        return _answer(400, "not an event")
    try:
        outcome = handle_event(db.session, event)
    except (payments.RetryLater, stripe_gateway.StripeError) as exc:
        db.session.rollback()
        log.warning("Stripe event %s deferred: %r", field(event, "id"), exc)
        return _answer(503, "not handled yet; send it again later")
    db.session.commit()
    return _answer(200, outcome)

"""Settings → Webhooks: the business's endpoints, each with its secret and its delivery
log (Resend). The rules live in `prepbase.webhook_delivery.endpoints`."""

from __future__ import annotations

from collections.abc import Callable

from flask import abort, flash, g, request, url_for
from werkzeug.wrappers import Response

from prepbase.admin.blueprint import bp
from prepbase.admin.common import refused
from prepbase.admin.forms import WebhookEndpointForm
from prepbase.errors import DomainError
from prepbase.extensions import db
from prepbase.forms import ActionForm, form_status
from prepbase.htmx import hx_redirect, render
from prepbase.inputs import page_number
from prepbase.models import EventType, WebhookDelivery, WebhookEndpoint
from prepbase.tenant_url import get_or_404
from prepbase.webhook_delivery import delivery, endpoints


@bp.get("/settings/webhooks")
def webhook_list() -> Response:
    return render(
        "admin/settings/webhooks.html",
        rows=endpoints.endpoints_of(db.session),
        waiting=delivery.due_count(db.session),
    )


def _form_page(endpoint: WebhookEndpoint | None) -> Response:
    form = WebhookEndpointForm()
    if request.method == "GET" and endpoint is not None:
        form.fill_from(endpoint)
    if form.validate_on_submit():
        url, description, types = form.url.data or "", form.description.data, form.chosen_types()
        try:
            if endpoint is None:
                endpoint = endpoints.add_endpoint(
                    db.session, g.tenant, url=url, description=description, event_types=types
                )
            else:
                endpoints.edit_endpoint(
                    db.session,
                    g.tenant,
                    endpoint,
                    url=url,
                    description=description,
                    event_types=types,
                )
        except DomainError as exc:
            refused(form, exc)
        else:
            db.session.commit()
            flash(f"The endpoint {endpoint.url} is saved.", "success")
            return hx_redirect(url_for(".webhook_detail", endpoint_id=endpoint.id))
    return render(
        "admin/settings/webhook_form.html",
        block="form",
        status=form_status(),
        form=form,
        endpoint=endpoint,
    )


@bp.route("/settings/webhooks/new", methods=["GET", "POST"])
def webhook_new() -> Response:
    return _form_page(None)


@bp.route("/settings/webhooks/<id:endpoint_id>/edit", methods=["GET", "POST"])
def webhook_edit(endpoint_id: int) -> Response:
    return _form_page(get_or_404(WebhookEndpoint, endpoint_id))


@bp.get("/settings/webhooks/<id:endpoint_id>")
def webhook_detail(endpoint_id: int) -> Response:
    endpoint = get_or_404(WebhookEndpoint, endpoint_id)
    return render(
        "admin/settings/webhook_detail.html",
        block="log",
        endpoint=endpoint,
        log=endpoints.delivery_log(db.session, endpoint, page_number()),
        all_types=[t.value for t in EventType],
        action_form=ActionForm(),
    )


def _back(endpoint: WebhookEndpoint) -> Response:
    return hx_redirect(url_for(".webhook_detail", endpoint_id=endpoint.id))


def _form_expired() -> bool:
    """A POST button's CSRF check; False, with a message, when its form expired."""
    if ActionForm().validate_on_submit():
        return False
    flash("Your form expired. Reload the page and try again.", "error")
    return True


def _endpoint_action(
    endpoint_id: int, change: Callable[[WebhookEndpoint], object], done: str
) -> Response:
    """A button of the endpoint's page: `change` it in one transaction, say `done`, and
    show the page again (an expired form changes nothing)."""
    endpoint = get_or_404(WebhookEndpoint, endpoint_id)
    if not _form_expired():
        change(endpoint)
        db.session.commit()
        flash(done, "success")
    return _back(endpoint)


@bp.post("/settings/webhooks/<id:endpoint_id>/disable")
def webhook_disable(endpoint_id: int) -> Response:
    return _endpoint_action(
        endpoint_id,
        lambda endpoint: endpoints.set_endpoint_active(
            db.session, g.tenant, endpoint, False, "Turned off by an admin."
        ),
        "The endpoint is off: events are not sent to it until it is turned on.",
    )


@bp.post("/settings/webhooks/<id:endpoint_id>/enable")
def webhook_enable(endpoint_id: int) -> Response:
    return _endpoint_action(
        endpoint_id,
        lambda endpoint: endpoints.set_endpoint_active(db.session, g.tenant, endpoint, True),
        "The endpoint is on: waiting events are sent with the next delivery run.",
    )


@bp.post("/settings/webhooks/<id:endpoint_id>/rotate")
def webhook_rotate(endpoint_id: int) -> Response:
    return _endpoint_action(
        endpoint_id,
        lambda endpoint: endpoints.rotate_secret(db.session, endpoint),
        "A new secret is in use: give it to your receiver.",
    )


@bp.post("/settings/webhooks/<id:endpoint_id>/delete")
def webhook_delete(endpoint_id: int) -> Response:
    endpoint = get_or_404(WebhookEndpoint, endpoint_id)
    if _form_expired():
        return _back(endpoint)
    url = endpoint.url
    endpoints.delete_endpoint(db.session, g.tenant, endpoint)
    db.session.commit()
    flash(f"The endpoint {url} is deleted.", "success")
    return hx_redirect(url_for(".webhook_list"))


@bp.post("/settings/webhooks/<id:endpoint_id>/deliveries/<id:delivery_id>/resend")
def webhook_resend(endpoint_id: int, delivery_id: int) -> Response:
    endpoint = get_or_404(WebhookEndpoint, endpoint_id)
    sent = get_or_404(WebhookDelivery, delivery_id)
    if sent.endpoint_id != endpoint.id:
        abort(404)
    if _form_expired():
        return _back(endpoint)
    try:
        endpoints.resend(db.session, sent)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        db.session.commit()
        flash("The event is sent again with the next delivery run (the same event id).", "success")
    return _back(endpoint)

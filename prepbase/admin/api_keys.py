"""Settings → API keys: the business's keys for its own tools (`prepbase.api`): list,
create (the token is shown once, on the page that answers the creation), revoke."""

from __future__ import annotations

from flask import flash, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from prepbase import api_keys as keys
from prepbase.admin.blueprint import bp
from prepbase.admin.common import refused
from prepbase.admin.forms import ApiKeyForm
from prepbase.errors import DomainError
from prepbase.extensions import db
from prepbase.forms import ActionForm, form_status
from prepbase.htmx import hx_redirect, render
from prepbase.models import ApiKey
from prepbase.tenant_url import get_or_404


def _page(form: ApiKeyForm) -> Response:
    return render(
        "admin/settings/api_keys.html",
        block="form",
        status=form_status(),
        form=form,
        rows=keys.api_keys(db.session),
        action_form=ActionForm(),
    )


@bp.get("/settings/api-keys")
def api_key_list() -> Response:
    return _page(ApiKeyForm(formdata=None))


@bp.post("/settings/api-keys")
def api_key_create() -> Response:
    form = ApiKeyForm()
    if form.validate_on_submit():
        try:
            made = keys.create_api_key(
                db.session, current_user, name=form.name.data or "", scope=form.scope.data
            )
        except DomainError as exc:
            refused(form, exc)
        else:
            db.session.commit()
            # The token is in this answer only: it is stored as a hash and never shown again.
            return render(
                "admin/settings/api_key_created.html", block="form", key=made.key, token=made.token
            )
    return _page(form)


@bp.post("/settings/api-keys/<id:key_id>/revoke")
def api_key_revoke(key_id: int) -> Response:
    key = get_or_404(ApiKey, key_id)
    if not ActionForm().validate_on_submit():
        flash("Your form expired. Reload the page and try again.", "error")
        return hx_redirect(url_for(".api_key_list"))
    keys.revoke_api_key(db.session, current_user, key)
    db.session.commit()
    flash(f"The key {key.name} is revoked: tools using it are refused from now on.", "success")
    return hx_redirect(url_for(".api_key_list"))

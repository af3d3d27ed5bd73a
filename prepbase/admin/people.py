"""Anyone's sign-in, whatever their role (staff, parents, students): deactivate,
reactivate, send a new invitation. The buttons sit on the staff list, a family's page, a
student's profile and the dashboard; each answer goes back to the page it came from."""

from __future__ import annotations

from flask import flash, g, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from prepbase import people
from prepbase.admin.blueprint import bp
from prepbase.admin.common import back_or, invite_ttl
from prepbase.errors import DomainError
from prepbase.extensions import db
from prepbase.forms import ActionForm
from prepbase.htmx import hx_redirect
from prepbase.mail.accounts import send_invitation
from prepbase.models import User
from prepbase.people import SessionsToHandOver
from prepbase.tenant_url import get_or_404


def _set_active(user_id: int, active: bool) -> Response:
    user = get_or_404(User, user_id)
    if ActionForm().validate_on_submit():
        try:
            people.set_active(db.session, current_user, user, active)
        except SessionsToHandOver as exc:
            db.session.rollback()
            flash(exc.message, "error")
            # The page that lists them, with the choices (admin/staff.py).
            return hx_redirect(url_for(".staff_deactivate", user_id=user.id))
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "error")
        else:
            db.session.commit()
            flash(f"{user.name} is {'reactivated' if active else 'deactivated'}.", "success")
    return hx_redirect(back_or(url_for(".staff_list")))


@bp.post("/people/<id:user_id>/deactivate")
def person_deactivate(user_id: int) -> Response:
    return _set_active(user_id, False)


@bp.post("/people/<id:user_id>/reactivate")
def person_reactivate(user_id: int) -> Response:
    return _set_active(user_id, True)


@bp.post("/people/<id:user_id>/resend-invite")
def person_resend_invite(user_id: int) -> Response:
    user = get_or_404(User, user_id)
    if ActionForm().validate_on_submit():
        try:
            raw = people.reissue_invite(db.session, current_user, user, invite_ttl())
            send_invitation(db.session, g.tenant, user, raw)
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "error")
        else:
            db.session.commit()
            flash(
                f"A new invitation went to {user.email}; the old link no longer works.", "success"
            )
    return hx_redirect(back_or(url_for(".dashboard")))

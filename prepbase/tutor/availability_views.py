"""Working hours and time off: a staff member's own pages, under /tutor. The handlers are
shared with the admin's pages for anyone's hours (prepbase/availability_pages.py)."""

from __future__ import annotations

from flask_login import current_user
from werkzeug.wrappers import Response

from prepbase.availability_pages import (
    Where,
    add_time_off,
    delete_time_off,
    save_hours,
    show_page,
)
from prepbase.tutor.blueprint import bp

# --- a staff member's own -----------------------------------------------------------------

OWN = Where(
    page="tenant.tutor.hours_page",
    hours="tenant.tutor.hours_save",
    time_off="tenant.tutor.time_off_add",
    delete="tenant.tutor.time_off_delete",
)


@bp.get("/availability")
def hours_page() -> Response:
    return show_page(current_user, OWN)


@bp.post("/availability/hours")
def hours_save() -> Response:
    return save_hours(current_user, OWN)


@bp.post("/availability/time-off")
def time_off_add() -> Response:
    return add_time_off(current_user, OWN)


@bp.post("/availability/time-off/<id:time_off_id>/delete")
def time_off_delete(time_off_id: int) -> Response:
    return delete_time_off(current_user, time_off_id, OWN)

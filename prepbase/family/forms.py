"""Book Session for families: the shared schedule form, filled with what they may choose."""

from __future__ import annotations

from collections.abc import Sequence

from flask import url_for
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict
from wtforms import SelectChoice

from prepbase import categories
from prepbase.models import Student, Tenant
from prepbase.session_forms import RepeatScheduleForm, ScheduleForm, staff_choices
from prepbase.slots import bookable_staff


def book_session_form(
    session: Session,
    tenant: Tenant,
    students: Sequence[Student],
    service: str | None = None,
    subject_id: int | None = None,
) -> RepeatScheduleForm:
    """The Book Session form (with "Repeat weekly") with the family's students, the
    categories and subjects, and the staff who can teach (the subject, when chosen).

    On a POST every active staff member stays a valid choice, so a tutor who does not
    offer the chosen service or subject gets the domain's message instead of "Not a
    valid choice".
    """
    form = RepeatScheduleForm()
    form.student.choices = [SelectChoice(str(s.id), s.full_name) for s in students]
    form.offer_kinds(session)
    form.staff.choices = staff_choices(
        categories.who_teaches(session, bookable_staff(session, service), subject_id)
    )
    # With JavaScript, choosing a service or a subject reloads the staff select with who
    # offers it.
    reloads_staff = {
        "hx-get": url_for("tenant.family.staff_options"),
        "hx-trigger": "change",
        "hx-target": "#staff-field",
        "hx-swap": "outerHTML",
        "hx-include": "#service, #subject, #staff",
    }
    form.service.render_kw = form.subject.render_kw = reloads_staff
    form.start_time.description = f"{tenant.timezone.replace('_', ' ')} time."
    # Each choice the open times depend on reloads them. The attributes sit on the
    # controls themselves, so a staff select swapped in for a new service keeps them.
    for name in ("student", "staff", "duration", "date", "category"):
        getattr(form, name).render_kw = reloads_slots()
    return form


def slots_form(
    tenant: Tenant, students: Sequence[Student], args: MultiDict[str, str]
) -> ScheduleForm:
    """The form behind the open-times fragment, filled from the URL's `args` once.

    It renders only the day and the times, so the staff list (two queries) is not
    loaded; the staff member is checked by `availability.load_schedule` instead. It is
    never posted, so it carries no CSRF token (nothing to sign on every request)."""
    form = ScheduleForm(formdata=args or None, meta={"csrf": False})
    form.student.choices = [SelectChoice(str(s.id), s.full_name) for s in students]
    form.staff.choices = []
    form.category.choices = form.subject.choices = []  # read from the URL, not shown
    form.date.render_kw = reloads_slots()
    form.start_time.description = f"{tenant.timezone.replace('_', ' ')} time."
    return form


def reloads_slots() -> dict[str, str]:
    """htmx attributes of a control whose change reloads the open times."""
    return {
        "hx-get": url_for("tenant.family.session_slots"),
        "hx-trigger": "change",
        "hx-target": "#slots",
        "hx-swap": "outerHTML",
        "hx-include": "#student, #service, #staff, #duration, #date, #category, #subject",
        "hx-sync": "#slots:replace",
    }

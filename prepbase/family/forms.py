"""Book Session for families: the shared schedule form, filled with what they may choose."""

from __future__ import annotations

from collections.abc import Sequence

from flask import url_for
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict
from wtforms import StringField
from wtforms.validators import Length

from prepbase import categories
from prepbase.forms import Form, SelectChoice
from prepbase.models import Student, Tenant
from prepbase.session_forms import (
    SERVICE_CHOICES,
    RepeatScheduleForm,
    ScheduleForm,
    staff_choices,
)
from prepbase.slots import bookable_staff, offered_services


class BuyOptionsForm(Form):
    """Buy Hours with a promo code and extra hours; `promotions` checks the values, the
    fields only bound their length."""

    promo_code = StringField(
        "Promo code",
        validators=[Length(max=40, message="A promo code has at most 40 characters.")],
        description="Optional. Letters, digits, - and _.",
        render_kw={"autocomplete": "off", "autocapitalize": "characters"},
    )
    extra_hours = StringField(
        "Extra hours",
        validators=[Length(max=20, message="Enter the extra hours as a whole number.")],
        render_kw={"inputmode": "numeric"},
    )


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
    staff = bookable_staff(session, service)
    form.kept += staff
    form.staff.choices = staff_choices(categories.who_teaches(session, staff, subject_id))
    # Only services somebody delivers (all of them while nobody does: the staff field
    # then says that nobody offers the service, with the business's contact). Without a
    # service, the staff just loaded are everyone who delivers one.
    offered = (
        {str(row.service) for person in staff for row in person.service_rows}
        if service is None
        else offered_services(session)
    )
    form.service.choices = [c for c in SERVICE_CHOICES if c.value in offered] or SERVICE_CHOICES
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
    reloads = reloads_slots()  # one url_for for the five controls
    for name in ("student", "staff", "date", "category"):
        getattr(form, name).render_kw = dict(reloads)
    # The length reloads while it is typed, not when it loses focus: focus leaves it when
    # the parent presses a time, and a list swapped in under the pointer lost that click.
    form.duration.render_kw = {
        **form.duration.render_kw,
        **reloads,
        "hx-trigger": "input changed delay:400ms",
    }
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


# What the open times depend on, and the time already chosen: the reloaded list keeps it
# checked while it is still open (issue 16: a new length must not wipe the choice).
SLOT_CHOICES = (
    "#student, #service, #staff, #duration, #date, #category, #subject, #slots [name=start_time]"
)


def reloads_slots() -> dict[str, str]:
    """htmx attributes of a control whose change reloads the open times."""
    return {
        "hx-get": url_for("tenant.family.session_slots"),
        "hx-trigger": "change",
        "hx-target": "#slots",
        "hx-swap": "outerHTML",
        "hx-include": SLOT_CHOICES,
        "hx-sync": "#slots:replace",
    }

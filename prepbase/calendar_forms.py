"""The Calendar's query string as a form: the view, the day, and the filters.

Read from the URL (a GET: no CSRF), so a calendar page can be bookmarked and works
without JavaScript; a value that cannot be used gets a message under its filter (422).
"""

from __future__ import annotations

import datetime

from wtforms import SelectField
from wtforms.validators import Optional

from prepbase.calendar_view import DEFAULT_VIEW, Choices, Filters, View, status_choices
from prepbase.forms import DayField, Form, IdSelectField, SelectChoice, known_choice
from prepbase.session_forms import SERVICE_CHOICES


class CalendarForm(Form):
    """Which page of the calendar, and what it is narrowed to."""

    class Meta:
        csrf = False

    view = SelectField(
        "View",
        choices=[SelectChoice(v.value, v.label) for v in View],
        validate_choice=False,
        validators=[known_choice("Choose the day, week or month view.")],
    )
    date = DayField("Go to date", validators=[Optional()])
    staff = IdSelectField(
        "Tutor or counselor",
        default="",  # anyone
        invalid_choice_message="Choose a tutor or counselor of this business.",
    )
    student = IdSelectField(
        "Student", default="", invalid_choice_message="Choose one of the students listed."
    )
    service = SelectField(
        "Service",
        choices=[SelectChoice("", "Any service"), *SERVICE_CHOICES],
        validate_choice=False,
        validators=[known_choice("Choose Tutoring or Counseling.")],
    )
    status = SelectField(
        "Status",
        choices=[
            SelectChoice("", "Any but cancelled and declined"),
            *(SelectChoice(value, label) for value, label in status_choices()),
        ],
        validate_choice=False,
        validators=[known_choice("Choose a status from the list.")],
    )

    def offer(self, choices: Choices, *, staff: bool) -> None:
        """The people this viewer may filter on: staff members for admins, students when
        there are two or more to choose from (a family of one student has no filter)."""
        if staff:
            self.staff.choices = [SelectChoice("", "Anyone")] + [
                SelectChoice(str(id_), name) for id_, name in choices.staff
            ]
        else:
            del self.staff
        if len(choices.students) > 1:
            self.student.choices = [SelectChoice("", "Any student")] + [
                SelectChoice(str(id_), name) for id_, name in choices.students
            ]
        else:
            del self.student

    def chosen_view(self) -> View:
        return View(self.view.data) if self.view.data else DEFAULT_VIEW

    def chosen_day(self, today: datetime.date) -> datetime.date:
        return self.date.data or today

    def filters(self) -> Filters:
        """The validated filters; an empty one means any."""
        staff = getattr(self, "staff", None)
        student = getattr(self, "student", None)
        return Filters(
            staff_id=int(staff.data) if staff is not None and staff.data else None,
            student_id=int(student.data) if student is not None and student.data else None,
            service=self.service.data or None,
            status=self.status.data or None,
        )

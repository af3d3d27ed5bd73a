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
    category = IdSelectField(
        "Category", default="", invalid_choice_message="Choose one of the categories listed."
    )
    subject = IdSelectField(
        "Subject", default="", invalid_choice_message="Choose one of the subjects listed."
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
        # Design §11: only a business that has more than one category or any subjects
        # gets these filters.
        if len(choices.categories) > 1:
            self.category.choices = [SelectChoice("", "Any category")] + [
                SelectChoice(str(id_), name) for id_, name in choices.categories
            ]
        else:
            del self.category
        if choices.subjects:
            self.subject.choices = [SelectChoice("", "Any subject")] + [
                SelectChoice(str(id_), name) for id_, name in choices.subjects
            ]
        else:
            del self.subject

    def chosen_view(self) -> View:
        return View(self.view.data) if self.view.data else DEFAULT_VIEW

    def chosen_day(self, today: datetime.date) -> datetime.date:
        return self.date.data or today

    def filters(self) -> Filters:
        """The validated filters; an empty one means any."""

        def chosen(name: str) -> int | None:
            select_field = getattr(self, name, None)
            data = select_field.data if select_field is not None else None
            return int(data) if data else None

        return Filters(
            staff_id=chosen("staff"),
            student_id=chosen("student"),
            service=self.service.data or None,
            status=self.status.data or None,
            category_id=chosen("category"),
            subject_id=chosen("subject"),
        )

"""Forms of the staff session page that the shared session forms do not cover."""

from __future__ import annotations

from wtforms import StringField, TimeField
from wtforms.validators import InputRequired, Length, Optional

from prepbase.forms import DayField, Form
from prepbase.models import WEEKDAYS
from prepbase.session_forms import SessionTimeForm


def _day_field(label: str) -> StringField:
    return StringField(label, validators=[Optional(), Length(max=200)])


class RescheduleForm(SessionTimeForm):
    """Move a session: a new date and start time; its length stays."""

    duration = None  # a subclass drops an inherited field by setting it to None


class DurationForm(SessionTimeForm):
    """Change a session's length, in hours."""

    date = None
    start_time = None


class WeeklyHoursForm(Form):
    """A staff member's week: one line of ranges per weekday."""

    monday = _day_field("Monday")
    tuesday = _day_field("Tuesday")
    wednesday = _day_field("Wednesday")
    thursday = _day_field("Thursday")
    friday = _day_field("Friday")
    saturday = _day_field("Saturday")
    sunday = _day_field("Sunday")

    def day_fields(self) -> list[StringField]:
        return [getattr(self, day.lower()) for day in WEEKDAYS]


class TimeOffForm(Form):
    """Whole days (leave the times empty) or part of a day."""

    first_day = DayField("From", validators=[InputRequired(message="Choose the first day.")])
    start_time = TimeField(
        "From time", validators=[Optional()], description="Empty: from the start of the day."
    )
    last_day = DayField("To", validators=[InputRequired(message="Choose the last day.")])
    end_time = TimeField(
        "To time", validators=[Optional()], description="Empty: to the end of the day."
    )
    note = StringField("Note (optional)", validators=[Optional(), Length(max=200)])

"""Forms of the working-hours and time-off page, shared by the tutor blueprint (one's own)
and the admin blueprint (anyone's)."""

from __future__ import annotations

from wtforms import StringField, TimeField
from wtforms.validators import InputRequired, Length, Optional

from prepbase.forms import DayField, Form
from prepbase.models import WEEKDAYS


def _day_field(label: str) -> StringField:
    return StringField(label, validators=[Optional(), Length(max=200)])


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

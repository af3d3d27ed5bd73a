"""Form pieces for scheduling: the date, start time and duration of a session.

Families (Book Session), staff (Propose Session) and admins use the same fields; each
view fills the student, staff and service choices it may offer.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from wtforms import SelectChoice, SelectField, StringField, TextAreaField, TimeField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from prepbase import hours
from prepbase.forms import DayField, Form, IdSelectField
from prepbase.localtime import local_to_utc
from prepbase.models import Attendance, Service, Tenant, User

SERVICE_CHOICES = [SelectChoice(s.value, s.label) for s in Service]
ATTENDANCE_CHOICES = [SelectChoice(a.value, a.label) for a in Attendance]


def staff_choices(staff: Sequence[User]) -> list[SelectChoice]:
    """ "Tara Tutor (Tutoring)": without JavaScript the label says who offers what."""
    return [
        SelectChoice(str(u.id), f"{u.name} ({', '.join(s.label for s in u.services)})")
        for u in staff
    ]


class SessionTimeForm(Form):
    """Date, time (business's zone) and duration in hours."""

    date = DayField("Date", validators=[InputRequired(message="Choose a date.")])
    start_time = TimeField("Start time", validators=[InputRequired(message="Choose a time.")])
    duration = StringField(
        "Duration (hours)",
        validators=[DataRequired(), Length(max=20)],
        default="1",
        description="For example 1, 1.5 or 0.75.",
        render_kw={"inputmode": "decimal"},
    )

    def starts_at(self, tenant: Tenant) -> datetime:
        """The chosen start as UTC; DomainError when the wall-clock time does not exist."""
        return local_to_utc(tenant, self.date.data, self.start_time.data)

    def duration_minutes(self) -> int:
        """The duration in whole minutes (at most 12 hours)."""
        return hours.parse_hours(
            self.duration.data, field="duration", max_hours=hours.MAX_SESSION_HOURS
        )


class ScheduleForm(SessionTimeForm):
    """Book Session / Propose Session: who, what, when."""

    student = IdSelectField("Student", validators=[DataRequired()])
    service = SelectField("Service", choices=SERVICE_CHOICES, validators=[DataRequired()])
    staff = IdSelectField("Tutor or counselor", validators=[DataRequired()])


class AttendanceForm(Form):
    attendance = SelectField("Attendance", choices=ATTENDANCE_CHOICES, validators=[DataRequired()])


class ActionPlanForm(Form):
    topics = TextAreaField("Topics covered", validators=[DataRequired(), Length(max=5000)])
    goals = TextAreaField("Goals", validators=[Optional(), Length(max=5000)])
    next_steps = TextAreaField("Next steps / homework", validators=[Optional(), Length(max=5000)])


class ReasonForm(Form):
    reason = TextAreaField("Reason", validators=[Optional(), Length(max=1000)])


__all__ = [
    "ActionPlanForm",
    "AttendanceForm",
    "ReasonForm",
    "ScheduleForm",
    "SessionTimeForm",
    "staff_choices",
]

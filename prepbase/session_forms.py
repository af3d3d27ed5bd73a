"""Form pieces for scheduling: the date, start time and duration of a session, and
"Repeat weekly" for a series.

Families (Book Session), staff (Propose Session) and admins use the same fields; each
view fills the student, staff and service choices it may offer.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from prepbase import categories, hours
from prepbase.forms import (
    CheckboxesField,
    DayField,
    Form,
    IdSelectField,
    SelectChoice,
    choices,
)
from prepbase.localtime import local_to_utc
from prepbase.models import (
    WEEKDAYS,
    Attendance,
    Service,
    SessionCategory,
    Subject,
    Tenant,
    User,
)
from prepbase.models.series import MAX_EVERY_WEEKS
from prepbase.series import MAX_COUNT, WeeklyRule, make_rule
from prepbase.tenant_url import get_or_404

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
        assert self.date.data is not None and self.start_time.data is not None  # required
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
    # What kind of session (design §11); `offer_kinds` fills them. With one category
    # the page does not show its select ("" stands for it).
    category = IdSelectField(
        "Category", choices=[], default="", invalid_choice_message="Choose one of the categories."
    )
    subject = IdSelectField(
        "Subject", choices=[], default="", invalid_choice_message="Choose one of the subjects."
    )

    # The rows the form offers, kept for the request: the session's identity map holds
    # only what something references, and a chosen one is then not read again.
    kept: list[object]
    default_kind: SessionCategory | None = None

    def offer_kinds(self, session: Session) -> None:
        """The active categories (the default first) and subjects to choose from."""
        offered = categories.active_categories(session)
        default = self.default_kind = categories.default_of(offered)
        if len(offered) > 1:
            ordered = [default, *(c for c in offered if c.id != default.id)]
            self.category.choices = [SelectChoice(str(c.id), c.name) for c in ordered]
        else:
            self.category.choices = [SelectChoice("", default.name)]
        subjects = categories.active_subjects(session)
        self.kept = [*offered, *subjects]
        self.subject.choices = [SelectChoice("", "No particular subject")] + [
            SelectChoice(str(s.id), f"{s.category.name} → {s.name}") for s in subjects
        ]

    @property
    def chooses_category(self) -> bool:
        """More than one active category: the page asks which."""
        return len(choices(self.category)) > 1

    @property
    def chooses_subject(self) -> bool:
        return len(choices(self.subject)) > 1

    def chosen_kind(self) -> tuple[SessionCategory | None, Subject | None]:
        """The category and subject chosen (None: the default, or no subject); another
        business's id is a 404."""
        category = (
            get_or_404(SessionCategory, int(self.category.data)) if self.category.data else None
        )
        subject = get_or_404(Subject, int(self.subject.data)) if self.subject.data else None
        if category is None and subject is None:
            category = self.default_kind  # what `categories.check_choice` would read again
        return category, subject


EVERY_CHOICES = [
    SelectChoice(str(n), "week" if n == 1 else f"{n} weeks") for n in range(1, MAX_EVERY_WEEKS + 1)
]
WEEKDAY_CHOICES = [SelectChoice(str(day), name) for day, name in enumerate(WEEKDAYS)]


class RepeatScheduleForm(ScheduleForm):
    """Book Session / Propose Session with "Repeat weekly" (design §10): every 1–4 weeks,
    on one or more weekdays, for N sessions or until a day. A series is shown first as a
    plan; the confirming form carries the plan's fingerprint (`plan`)."""

    repeat = BooleanField("Repeat this session weekly")
    every = SelectField("Every", choices=EVERY_CHOICES, default="1")
    weekdays = CheckboxesField(
        "On (none chosen: the date's weekday)", choices=WEEKDAY_CHOICES, coerce=int
    )
    count = IntegerField(
        "Number of sessions",
        validators=[
            Optional(),
            NumberRange(min=1, max=MAX_COUNT, message=f"Choose 1 to {MAX_COUNT} sessions."),
        ],
        render_kw={"inputmode": "numeric"},
    )
    until = DayField(
        "Or until (the last day)",
        validators=[Optional()],
        description="A series lasts at most a year.",
    )
    plan = HiddenField()

    def rule(self) -> WeeklyRule:
        """The series' rule from the first day and time; DomainError under the field."""
        assert self.date.data is not None and self.start_time.data is not None  # required
        return make_rule(
            first_day=self.date.data,
            start=self.start_time.data,
            weekdays=self.weekdays.data or (),
            every_weeks=int(self.every.data or 1),
            until=self.until.data,
            count=self.count.data,
        )

    def posted_values(self) -> list[tuple[str, str]]:
        """Every field as posted (name, value), for the confirming form to carry along
        as hidden inputs; the CSRF token and the plan are the confirming form's own."""
        pairs: list[tuple[str, str]] = []
        for field in self:
            if field.short_name in ("csrf_token", "plan"):
                continue
            if isinstance(field, SelectMultipleField):  # the weekdays, other students
                pairs += [(field.name, str(value)) for value in field.data or ()]
            elif isinstance(
                field, BooleanField
            ):  # "Repeat weekly", "Book it now": ticked or absent
                if field.data:
                    pairs.append((field.name, "y"))
            elif isinstance(field, SelectField):
                pairs.append((field.name, str(field.data or "")))
            else:
                # Text, day and time fields: each writes its posted value with `_value()`.
                pairs.append((field.name, field._value()))  # type: ignore[attr-defined]
        return pairs


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
    "RepeatScheduleForm",
    "ScheduleForm",
    "SessionTimeForm",
    "staff_choices",
]

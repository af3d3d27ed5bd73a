"""Forms of the staff portal that the shared session forms do not cover."""

from __future__ import annotations

from wtforms import SelectChoice, SelectField, StringField
from wtforms.validators import Length, Optional

from prepbase.forms import Form
from prepbase.session_forms import (
    ActionPlanForm,
    AttendanceForm,
    ReasonForm,
    ScheduleForm,
    SessionTimeForm,
)

THIS, FOLLOWING = "this", "following"


def which_field(label: str) -> SelectField:
    """For a weekly series' session (design §10): this one, or this and the following."""
    return SelectField(
        label,
        choices=[
            SelectChoice(THIS, "This session"),
            SelectChoice(FOLLOWING, "This and following sessions of the series"),
        ],
        default=THIS,
    )


class RescheduleForm(SessionTimeForm):
    """Move a session: a new date and start time; its length stays. In a series, the
    following sessions may move with it (as many days, to the same new time)."""

    duration = None  # a subclass drops an inherited field by setting it to None
    which = which_field("Move")


class CancelForm(ReasonForm):
    """Cancel Session, with an optional reason; in a series, this or this and following."""

    which = which_field("Cancel")


class DurationForm(SessionTimeForm):
    """Change a session's length, in hours."""

    date = None
    start_time = None


class LogPastSessionForm(ScheduleForm, AttendanceForm, ActionPlanForm):
    """Log Past Session: who, what and when, with its attendance and action plan."""


class PlaceForm(Form):
    """Where one session is: its address (Custom Address) or meeting link (Virtual Meeting)."""

    custom_address = StringField("Address", validators=[Optional(), Length(max=300)])
    meeting_link = StringField(
        "Meeting link",
        validators=[Optional(), Length(max=500)],
        description="Shown to the family and to you shortly before the start.",
        render_kw={"inputmode": "url", "placeholder": "https://"},
    )

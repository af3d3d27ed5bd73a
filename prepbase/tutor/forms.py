"""Forms of the staff portal that the shared session forms do not cover."""

from __future__ import annotations

from collections.abc import Sequence

from wtforms import BooleanField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from prepbase.forms import Form, SelectChoice
from prepbase.models import TutoringSession
from prepbase.session_forms import (
    ATTENDANCE_CHOICES,
    ActionPlanForm,
    AttendanceForm,
    ReasonForm,
    RepeatScheduleForm,
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

    # A subclass drops an inherited field by setting it to None (WTForms' way).
    duration = None  # type: ignore[assignment]
    which = which_field("Move")


REFUND_ALL, APPLY_POLICY = "refund", "policy"


class CancelForm(ReasonForm):
    """Cancel Session, with an optional reason; in a series, this or this and following.
    Inside the business's cancellation window, staff choose what happens to the hours
    (design §12): all of them back (the default when the business cancels), or the
    policy's charge, as if the family had cancelled."""

    which = which_field("Cancel")
    hours = SelectField(
        "Hours",
        choices=[
            SelectChoice(REFUND_ALL, "Refund all the hours"),
            SelectChoice(APPLY_POLICY, "Apply the cancellation policy"),
        ],
        default=REFUND_ALL,
    )


class DurationForm(SessionTimeForm):
    """Change a session's length, in hours."""

    date = None  # type: ignore[assignment]  # dropped (WTForms' way, as above)
    start_time = None  # type: ignore[assignment]  # dropped too


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


class ProposeForm(RepeatScheduleForm):
    """Propose Session: one student, or a group session with more (design §11)."""

    # WTForms 3.3's message argument; its stubs (types-wtforms 3.2) predate it.
    others = SelectMultipleField(  # type: ignore[call-arg]
        "Other participating students (a group session)",
        validators=[Optional()],
        invalid_choice_message="Choose the students from the list.",
        description="Leave empty for a one-to-one session. The category sets how many "
        "students a session takes; each family accepts for its own student.",
        render_kw={"size": 6},
    )
    # Admins only (the page shows it to them; the view refuses it from anyone else).
    book_now = BooleanField(
        "Book it now for the family",
        description="For a booking taken on the phone or at the desk: the session is "
        "upcoming at once and its hours are used now; the family does not accept it. One "
        "student, one session.",
    )


def group_attendance_form(rows: Sequence[TutoringSession], **kwargs: object) -> Form:
    """Attendance for a group at once: one select per participant not marked yet (design
    §11); a participant left at "Not taken yet" is left as it is."""

    class GroupAttendanceForm(Form):
        pass

    for ts in rows:
        setattr(
            GroupAttendanceForm,
            f"p{ts.id}",
            SelectField(
                ts.student.full_name,
                choices=[SelectChoice("", "Not taken yet"), *ATTENDANCE_CHOICES],
                validators=[Optional()],
                default="",
            ),
        )
    return GroupAttendanceForm(**kwargs)


def group_plan_form(rows: Sequence[TutoringSession], **kwargs: object) -> ActionPlanForm:
    """The group's one action plan, with an optional note per participant that only that
    student's family reads."""

    class GroupPlanForm(ActionPlanForm):
        pass

    for ts in rows:
        setattr(
            GroupPlanForm,
            f"note_{ts.id}",
            TextAreaField(
                f"Note for {ts.student.first_name}'s family (optional)",
                validators=[Optional(), Length(max=2000)],
            ),
        )
    return GroupPlanForm(**kwargs)

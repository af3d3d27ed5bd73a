"""Forms of the staff portal that the shared session forms do not cover."""

from __future__ import annotations

from prepbase.session_forms import ActionPlanForm, AttendanceForm, ScheduleForm, SessionTimeForm


class RescheduleForm(SessionTimeForm):
    """Move a session: a new date and start time; its length stays."""

    duration = None  # a subclass drops an inherited field by setting it to None


class DurationForm(SessionTimeForm):
    """Change a session's length, in hours."""

    date = None
    start_time = None


class LogPastSessionForm(ScheduleForm, AttendanceForm, ActionPlanForm):
    """Log Past Session: who, what and when, with its attendance and action plan."""

"""What the API reads and writes (marshmallow schemas; flask-smorest documents them).

Times are ISO 8601 in the business's time zone with its offset (`2027-01-15T10:00:00-05:00`);
an input time must carry an offset. Hours are given twice: whole minutes (`*_minutes`, for
arithmetic) and the decimal hours string the pages show (`*_hours`, "1.5", "0.33")."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import g
from marshmallow import Schema, ValidationError, fields, validate

from prepbase.hours import format_hours
from prepbase.localtime import business_today, to_local
from prepbase.models import (
    Attendance,
    Package,
    PackageType,
    Period,
    Role,
    Service,
    SessionStatus,
    TutoringSession,
)

SERVICES = [s.value for s in Service]


class LocalDateTime(fields.DateTime):
    """An aware time, written in the business's zone with its offset; read only with an
    offset (a bare local time would be ambiguous twice a year)."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        if value is None:
            return None
        return to_local(g.tenant, value).isoformat()

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        moment = super()._deserialize(value, attr, data, **kwargs)
        if moment.tzinfo is None:
            raise ValidationError("Give the time with its offset, e.g. 2027-01-15T10:00:00-05:00.")
        return moment


class Computed(fields.Nested):
    """A nested schema whose value `getter` computes from the object (documented as the
    nested schema, unlike a Function field)."""

    def __init__(self, nested: type[Schema], getter: Callable[[Any], Any], **kwargs: Any) -> None:
        super().__init__(nested, **kwargs)
        self.getter = getter

    def get_value(self, obj: Any, attr: str, accessor: Any = None, default: Any = None) -> Any:
        return self.getter(obj)


def hours_of(attribute: str) -> fields.Function:
    """The decimal hours string of a minutes attribute."""
    return fields.Function(
        lambda obj: format_hours(getattr(obj, attribute)),
        required=True,
        metadata={
            "type": "string",
            "description": f"{attribute} as decimal hours",
            "example": "1.5",
        },
    )


def page_of(item: type[Schema], name: str) -> type[Schema]:
    """The schema of one page of a list of `item`."""
    return Schema.from_dict(
        {
            "items": fields.List(fields.Nested(item), required=True),
            "next_cursor": fields.String(
                required=True,
                allow_none=True,
                metadata={"description": "Pass as `cursor` for the next page; null on the last."},
            ),
        },
        name=name,
    )


# --- people ------------------------------------------------------------------------------


class StudentSchema(Schema):
    id = fields.Integer(required=True)
    family_id = fields.Integer(required=True)
    first_name = fields.String(required=True)
    last_name = fields.String(required=True)
    grade = fields.String(required=True)
    school = fields.String(required=True)
    created_at = LocalDateTime(required=True)


class FamilySchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    student_ids = fields.Function(
        lambda f: [s.id for s in f.students],
        required=True,
        metadata={"type": "array", "items": {"type": "integer"}},
    )
    created_at = LocalDateTime(required=True)


class StaffSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    email = fields.String(required=True)
    role = fields.String(required=True, metadata={"enum": [Role.ADMIN, Role.TUTOR, Role.COUNSELOR]})
    active = fields.Boolean(required=True)
    services = fields.Function(
        lambda u: sorted(r.service for r in u.service_rows),
        required=True,
        metadata={"type": "array", "items": {"type": "string", "enum": SERVICES}},
    )


# --- offerings, packages and the ledger ---------------------------------------------------


class OfferingSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    service = fields.String(required=True, metadata={"enum": SERVICES})
    package_type = fields.String(required=True, metadata={"enum": [t.value for t in PackageType]})
    period = fields.String(required=True, allow_none=True)
    minutes = fields.Integer(required=True)
    hours = hours_of("minutes")
    rollover = fields.Boolean(required=True)
    price_minor = fields.Integer(required=True)
    currency = fields.String(required=True)
    sold_online = fields.Boolean(required=True)
    archived = fields.Boolean(required=True)


def _status(package: Package) -> str:
    return "active" if package.active_on(business_today(g.tenant)) else "inactive"


def _inactive_reason(package: Package) -> str | None:
    reason = package.inactive_reason_on(business_today(g.tenant))
    return reason.value if reason is not None else None


class PackageSchema(Schema):
    id = fields.Integer(required=True)
    student_id = fields.Integer(required=True)
    offering_id = fields.Integer(required=True, allow_none=True)
    name = fields.String(required=True)
    service = fields.String(required=True, metadata={"enum": SERVICES})
    package_type = fields.String(required=True, metadata={"enum": [t.value for t in PackageType]})
    period = fields.String(required=True, allow_none=True)
    rollover = fields.Boolean(required=True)
    start_date = fields.Date(required=True)
    expires_on = fields.Date(required=True, allow_none=True)
    status = fields.Function(
        _status, required=True, metadata={"type": "string", "enum": ["active", "inactive"]}
    )
    inactive_reason = fields.Function(
        _inactive_reason,
        required=True,
        metadata={"type": ["string", "null"], "enum": ["paused", "expired", "unassigned", None]},
    )
    total_minutes = fields.Integer(required=True)
    total_hours = hours_of("total_minutes")
    remaining_minutes = fields.Integer(required=True)
    remaining_hours = hours_of("remaining_minutes")
    created_at = LocalDateTime(required=True)


class LedgerEntrySchema(Schema):
    id = fields.Integer(required=True)
    kind = fields.String(required=True)
    minutes = fields.Integer(required=True, metadata={"description": "Signed: + adds, - uses."})
    hours = hours_of("minutes")
    balance_after_minutes = fields.Integer(required=True, attribute="balance_after")
    balance_after_hours = hours_of("balance_after")
    session_id = fields.Integer(required=True, allow_none=True)
    note = fields.String(required=True)
    created_at = LocalDateTime(required=True)


class PurchaseSchema(Schema):
    id = fields.Integer(required=True)
    student_id = fields.Integer(required=True)
    offering_id = fields.Integer(required=True)
    package_id = fields.Integer(required=True, allow_none=True)
    name = fields.String(required=True)
    service = fields.String(required=True, metadata={"enum": SERVICES})
    minutes = fields.Integer(required=True)
    hours = hours_of("minutes")
    amount_minor = fields.Integer(required=True)
    currency = fields.String(required=True)
    status = fields.String(required=True)
    created_at = LocalDateTime(required=True)
    paid_at = LocalDateTime(required=True, allow_none=True)


# --- sessions -----------------------------------------------------------------------------


class ParticipantSchema(Schema):
    session_id = fields.Integer(required=True, attribute="id")
    student_id = fields.Integer(required=True)
    status = fields.String(required=True)
    attendance = fields.String(required=True, allow_none=True)


class PlanSchema(Schema):
    topics = fields.String(required=True, allow_none=True)
    goals = fields.String(required=True, allow_none=True)
    next_steps = fields.String(required=True, allow_none=True)
    submitted_at = LocalDateTime(required=True, allow_none=True)


def _plan(ts: TutoringSession) -> dict[str, Any]:
    source: Any = ts.group if ts.group is not None else ts
    return {
        "topics": source.plan_topics,
        "goals": source.plan_goals,
        "next_steps": source.plan_next_steps,
        "submitted_at": source.plan_submitted_at,
    }


def _participants(ts: TutoringSession) -> list[TutoringSession]:
    # Set by the list/detail views from one query per page (`sessions.with_participants`).
    found: dict[int, list[TutoringSession]] = g.get("participants", {})
    return found.get(ts.group_id, []) if ts.group_id is not None else []


class SessionSchema(Schema):
    id = fields.Integer(required=True)
    status = fields.String(required=True, metadata={"enum": [s.value for s in SessionStatus]})
    student_id = fields.Integer(required=True)
    staff_id = fields.Integer(required=True)
    service = fields.String(required=True, metadata={"enum": SERVICES})
    starts_at = LocalDateTime(required=True)
    ends_at = LocalDateTime(required=True)
    duration_minutes = fields.Integer(required=True)
    package_id = fields.Integer(required=True, allow_none=True)
    charged_minutes = fields.Integer(required=True)
    charged_hours = hours_of("charged_minutes")
    attendance = fields.String(
        required=True, allow_none=True, metadata={"enum": [a.value for a in Attendance] + [None]}
    )
    category_id = fields.Integer(required=True)
    subject_id = fields.Integer(required=True, allow_none=True)
    group_id = fields.Integer(required=True, allow_none=True)
    participants = Computed(
        ParticipantSchema,
        _participants,
        many=True,
        required=True,
        metadata={"description": "Every participation of a group session (none: one-to-one)."},
    )
    plan = Computed(PlanSchema, _plan, required=True)
    cancelled_at = LocalDateTime(required=True, allow_none=True)
    created_at = LocalDateTime(required=True)


# --- inputs ------------------------------------------------------------------------------


class StudentFilter(Schema):
    family = fields.Integer(load_default=None, metadata={"description": "Only this family's."})


class PackageFilter(Schema):
    student = fields.Integer(load_default=None)
    service = fields.String(load_default=None, validate=validate.OneOf(SERVICES))
    status = fields.String(load_default=None, validate=validate.OneOf(["active", "inactive"]))


class SessionFilter(Schema):
    from_ = fields.Date(
        data_key="from",
        load_default=None,
        metadata={"description": "First day (business's zone), inclusive."},
    )
    to = fields.Date(load_default=None, metadata={"description": "Last day, inclusive."})
    status = fields.String(
        load_default=None, validate=validate.OneOf([s.value for s in SessionStatus])
    )
    staff = fields.Integer(load_default=None)
    student = fields.Integer(load_default=None)


class NewSessionInput(Schema):
    student_id = fields.Integer(required=True)
    staff_id = fields.Integer(required=True)
    service = fields.String(required=True, validate=validate.OneOf(SERVICES))
    starts_at = LocalDateTime(required=True)
    duration_minutes = fields.Integer(required=True, validate=validate.Range(min=1, max=24 * 60))
    category_id = fields.Integer(load_default=None)
    subject_id = fields.Integer(load_default=None)


class CancelInput(Schema):
    reason = fields.String(load_default="", validate=validate.Length(max=1000))
    hours = fields.String(
        load_default="refund_all",
        validate=validate.OneOf(["refund_all", "apply_policy"]),
        metadata={"description": "Give back all the hours, or apply the cancellation policy."},
    )


class AttendanceInput(Schema):
    attendance = fields.String(
        required=True, validate=validate.OneOf([a.value for a in Attendance])
    )


class ActionPlanInput(Schema):
    topics = fields.String(required=True, validate=validate.Length(max=5000))
    goals = fields.String(load_default="", validate=validate.Length(max=5000))
    next_steps = fields.String(load_default="", validate=validate.Length(max=5000))


class NewPackageInput(Schema):
    student_id = fields.Integer(required=True)
    offering_id = fields.Integer(
        load_default=None, metadata={"description": "Take name, service, kind and hours from it."}
    )
    name = fields.String(load_default=None, validate=validate.Length(max=120))
    service = fields.String(load_default=None, validate=validate.OneOf(SERVICES))
    package_type = fields.String(
        load_default=PackageType.ONE_TIME, validate=validate.OneOf([t.value for t in PackageType])
    )
    period = fields.String(load_default=None, validate=validate.OneOf([p.value for p in Period]))
    hours = fields.String(
        load_default=None, metadata={"description": 'Decimal hours, e.g. "10" or "7.5".'}
    )
    rollover = fields.Boolean(load_default=False)
    start_date = fields.Date(load_default=None, metadata={"description": "Default: today."})
    expires_on = fields.Date(load_default=None)


class AdjustmentInput(Schema):
    hours = fields.String(
        required=True, metadata={"description": 'Signed decimal hours: "2" adds, "-1.5" removes.'}
    )
    note = fields.String(required=True, validate=validate.Length(max=1000))


class AdjustmentResult(Schema):
    package = fields.Nested(PackageSchema, required=True)
    entry = fields.Nested(LedgerEntrySchema, required=True)

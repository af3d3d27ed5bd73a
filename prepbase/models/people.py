"""Accounts, families and students of a business."""

from __future__ import annotations

import secrets
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from flask_login import UserMixin
from sqlalchemy import Boolean, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from prepbase.models.base import Base, UTCDateTime, utcnow
from prepbase.tenancy import TenantScoped

if TYPE_CHECKING:
    from prepbase.models.availability import TimeOff, WorkingHours


class Role(StrEnum):
    ADMIN = "admin"
    TUTOR = "tutor"
    COUNSELOR = "counselor"
    PARENT = "parent"
    STUDENT = "student"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS = {
    Role.ADMIN: "Admin",
    Role.TUTOR: "Tutor",
    Role.COUNSELOR: "Counselor",
    Role.PARENT: "Parent",
    Role.STUDENT: "Student",
}
STAFF_ROLES = frozenset({Role.ADMIN, Role.TUTOR, Role.COUNSELOR})
FAMILY_ROLES = frozenset({Role.PARENT, Role.STUDENT})


class Service(StrEnum):
    TUTORING = "tutoring"
    COUNSELING = "counseling"

    @property
    def label(self) -> str:
        return self.value.title()


def _new_nonce() -> str:
    return secrets.token_hex(8)


class Family(TenantScoped, Base):
    """A household: the parents who guard its students, and the students."""

    __tablename__ = "family"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    # Where the family lives and how to call it; a student's own address comes first.
    address: Mapped[str | None] = mapped_column(String(300))
    phone: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    students: Mapped[list[Student]] = relationship(
        back_populates="family", order_by="Student.first_name"
    )
    members: Mapped[list[User]] = relationship(back_populates="family", order_by="User.name")

    @property
    def parents(self) -> list[User]:
        return [m for m in self.members if m.role == Role.PARENT]


class Student(TenantScoped, Base):
    __tablename__ = "student"

    id: Mapped[int] = mapped_column(primary_key=True)
    family_id: Mapped[int] = mapped_column(ForeignKey("family.id"), index=True)
    first_name: Mapped[str] = mapped_column(String(80))
    last_name: Mapped[str] = mapped_column(String(80))
    grade: Mapped[str] = mapped_column(String(40), default="")
    school: Mapped[str] = mapped_column(String(120), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    address: Mapped[str | None] = mapped_column(String(300))
    phone: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    family: Mapped[Family] = relationship(back_populates="students")
    account: Mapped[User | None] = relationship(back_populates="student", uselist=False)

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class User(TenantScoped, UserMixin, Base):
    """Anyone who signs in: staff (admin, tutor, counselor) or family (parent, student).

    An invited user has no password until they accept the invitation.
    """

    __tablename__ = "user_account"
    __table_args__ = (UniqueConstraint("tenant_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[Role] = mapped_column(String(20))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Rotated when the password changes, which signs out every other browser.
    session_nonce: Mapped[str] = mapped_column(String(32), default=_new_nonce)
    family_id: Mapped[int | None] = mapped_column(ForeignKey("family.id"), index=True)
    student_id: Mapped[int | None] = mapped_column(
        ForeignKey("student.id"), index=True, unique=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Staff: the meeting link Virtual Meeting sessions start with (editable per session).
    default_meeting_link: Mapped[str | None] = mapped_column(String(500))

    family: Mapped[Family | None] = relationship(back_populates="members")
    student: Mapped[Student | None] = relationship(back_populates="account")
    service_rows: Mapped[list[StaffService]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )
    # When a staff member works (prepbase.availability); empty for families.
    working_hours: Mapped[list[WorkingHours]] = relationship(
        back_populates="staff",
        order_by="(WorkingHours.weekday, WorkingHours.start_minute)",
        passive_deletes=True,
    )
    time_off: Mapped[list[TimeOff]] = relationship(
        back_populates="staff", order_by="TimeOff.starts_local", passive_deletes=True
    )

    # Flask-Login: the cookie names the user and the nonce, so a password change or a
    # deactivation ends every existing session.
    def get_id(self) -> str:
        return f"{self.id}:{self.session_nonce}"

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return bool(self.active)

    @property
    def has_password(self) -> bool:
        return self.password_hash is not None

    @property
    def role_enum(self) -> Role:
        return Role(self.role)

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def is_family(self) -> bool:
        return self.role in FAMILY_ROLES

    @property
    def services(self) -> list[Service]:
        return sorted((Service(r.service) for r in self.service_rows), key=list(Service).index)

    def rotate_session_nonce(self) -> None:
        self.session_nonce = _new_nonce()

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role}>"


class StaffService(TenantScoped, Base):
    """A service (Tutoring, Counseling) that a staff member delivers."""

    __tablename__ = "staff_service"
    __table_args__ = (UniqueConstraint("user_id", "service"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    service: Mapped[Service] = mapped_column(String(20))

    user: Mapped[User] = relationship(back_populates="service_rows")

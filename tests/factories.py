"""Build businesses of a known shape straight through the domain functions."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from prepbase import accounts, localtime, people
from prepbase.business import signup_business
from prepbase.models import Family, Role, Service, StaffService, Student, Tenant, User
from prepbase.tenancy import as_tenant

PASSWORD = "correct-horse-battery"


@dataclass
class Business:
    """One business: an admin, a tutor, a counselor, a family with two students."""

    tenant: Tenant
    admin: User
    tutor: User
    counselor: User
    parent: User
    student_user: User
    family: Family
    students: list[Student]
    password: str = PASSWORD
    invitee: User | None = None
    invite_token: str = ""
    extra: dict[str, object] = field(default_factory=dict)

    def user(self, role: str) -> User:
        return {
            "admin": self.admin,
            "tutor": self.tutor,
            "counselor": self.counselor,
            "parent": self.parent,
            "student": self.student_user,
        }[role]

    def url(self, path: str) -> str:
        return f"/{self.tenant.slug}{path}"


ZONE = "America/New_York"  # every factory business's time zone


def business_today(days: int = 0) -> date:
    """The factories' businesses' today (plus `days`): never the machine's UTC date."""
    return localtime.business_today(ZONE) + timedelta(days=days)


def make_business(session: Session, slug: str) -> Business:
    """A business with one person of every role, committed to the test's transaction."""
    tenant, admin = signup_business(
        session,
        business_name=f"{slug.title()} Tutoring",
        slug=slug,
        timezone=ZONE,
        admin_name=f"{slug.title()} Owner",
        email=f"owner@{slug}.example.com",
        password=PASSWORD,
    )
    with as_tenant(tenant.id):
        password_hash = accounts.hash_password(PASSWORD)

        def person(name: str, role: Role, **kw: object) -> User:
            email = f"{name.lower().replace(' ', '.')}@{slug}.example.com"
            user = User(name=name, email=email, role=role, password_hash=password_hash, **kw)
            session.add(user)
            return user

        admin.service_rows = [StaffService(service=Service.TUTORING)]  # the owner teaches too
        tutor = person("Tara Tutor", Role.TUTOR)
        tutor.service_rows = [StaffService(service=Service.TUTORING)]
        counselor = person("Carl Counselor", Role.COUNSELOR)
        counselor.service_rows = [StaffService(service=Service.COUNSELING)]
        family = people.create_family(session, admin, name=f"{slug.title()} family")
        students = [
            people.save_student(
                session,
                admin,
                None,
                family=family,
                first_name=first,
                last_name=slug.title(),
                grade=grade,
                school="Central High",
                notes="",
            )
            for first, grade in (("Ada", "10"), ("Ben", "8"))
        ]
        parent = person("Pat Parent", Role.PARENT, family=family)
        student_user = person("Ada Student", Role.STUDENT, family=family, student=students[0])
        invitee, token = people.invite_user(
            session,
            admin,
            name="Ivy Invited",
            email=f"ivy@{slug}.example.com",
            role=Role.PARENT,
            family=family,
            ttl=timedelta(days=7),
        )
        session.flush()
    session.commit()
    return Business(
        tenant=tenant,
        admin=admin,
        tutor=tutor,
        counselor=counselor,
        parent=parent,
        student_user=student_user,
        family=family,
        students=students,
        invitee=invitee,
        invite_token=token,
    )


def add_hours_rows(session: Session, business: Business) -> Business:
    """Give a business an offering, a package, an upcoming session, a stretch of the
    tutor's time off and an e-mail that failed for good (ids in `extra`)."""
    from datetime import UTC, date, datetime

    from prepbase import api_keys as keys
    from prepbase import (
        availability,
        categories,
        package_payments,
        packages,
        promotions,
        scheduling,
    )
    from prepbase.localtime import business_today
    from prepbase.mail.outbox import MAX_ATTEMPTS, queue_email
    from prepbase.models import EventType, ImportRun, WebhookDelivery, utcnow
    from prepbase.webhook_delivery.endpoints import add_endpoint
    from prepbase.webhooks.events import emit

    with as_tenant(business.tenant.id):
        offering = packages.save_offering(
            session,
            business.admin,
            None,
            name="Growth Package",
            service="tutoring",
            package_type="one_time",
            period=None,
            minutes=24 * 60,
            rollover=False,
        )
        package = packages.assign_package(
            session,
            business.admin,
            business.students[0],
            name="Growth Package",
            service="tutoring",
            package_type="one_time",
            period=None,
            minutes=24 * 60,
            start_date=date(2020, 1, 1),
            offering=offering,
        )
        now = utcnow()
        starts = datetime(now.year + 1, 1, 15, 15, 0, tzinfo=UTC)
        ts = scheduling.book_session(
            session,
            business.tenant,
            business.parent,
            student=business.students[0],
            staff=business.tutor,
            service="tutoring",
            starts_at=starts,
            duration_minutes=60,
            now=now,
        )
        purchase = add_purchase(session, business, offering)
        payment = package_payments.record_payment(
            session,
            business.tenant,
            package,
            business.admin,
            amount="240",
            method="cash",
            paid_on=business_today(business.tenant),
        )
        time_off = availability.add_time_off(
            session,
            business.tenant,
            business.tutor,
            business.tutor,
            first_day=date(now.year + 1, 2, 1),
            last_day=date(now.year + 1, 2, 5),
            note="Winter break",
        )
        # a message that failed for good, for Settings → E-mail
        bounced = queue_email(session, f"gone@{business.tenant.slug}.example.com", "Bounced", "Hi")
        bounced.status, bounced.attempts, bounced.last_error = "failed", MAX_ATTEMPTS, "550 gone"
        # an import waiting for its confirm, for Settings → Import
        import_run = ImportRun(
            kind="families",
            file_name="families.csv",
            file_text="Parent name,Parent email\r\nNew Parent,new@example.com\r\n",
            created_by_id=business.admin.id,
        )
        session.add(import_run)
        location = categories.save_location(session, None, name="Center", address="1 Main St")
        subject = categories.save_subject(
            session, None, name="SAT", category=categories.default_category(session)
        )
        promo = promotions.save_code(session, None, code="WELCOME", kind="percent", value=10)
        api_key = keys.create_api_key(session, business.admin, name="CRM", scope="read_write")
        # a webhook endpoint with one delivery, for Settings → Webhooks
        endpoint = add_endpoint(
            session, business.tenant, url="http://127.0.0.1:9/hooks", description="CRM"
        )
        emit(session, business.tenant, EventType.PACKAGE_CREATED, package)
        session.flush()
        delivery = session.scalars(
            select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)
        ).one()
        business.extra.update(
            promo_id=promo.id,
            category_id=categories.default_category(session).id,
            location_id=location.id,
            subject_id=subject.id,
            offering_id=offering.id,
            package_id=package.id,
            session_id=ts.id,
            purchase_id=purchase.id,
            payment_id=payment.id,
            time_off_id=time_off.id,
            message_id=bounced.id,
            endpoint_id=endpoint.id,
            delivery_id=delivery.id,
            import_run_id=import_run.id,
            api_key_id=api_key.key.id,
            api_token=api_key.token,
        )
    session.commit()
    return business


def add_purchase(session: Session, business: Business, offering, **values: object):
    """A pending online purchase of `offering` for the first student (no Stripe call)."""
    from prepbase.models import Purchase

    row = {
        "user_id": business.parent.id,
        "student_id": business.students[0].id,
        "offering_id": offering.id,
        "name": offering.name,
        "service": offering.service,
        "package_type": offering.package_type,
        "period": offering.period,
        "minutes": offering.minutes,
        "rollover": offering.rollover,
        "amount_minor": offering.price_minor or 24000,
        "currency": offering.currency,
        "checkout_session_id": f"cs_test_factory_{business.tenant.slug}_{offering.id}",
        "checkout_url": "https://checkout.stripe.invalid/pay",
    }
    row.update(values)
    with as_tenant(business.tenant.id):
        purchase = Purchase(**row)
        session.add(purchase)
        session.flush()
    return purchase


def sell_online(session: Session, business: Business, account_id: str) -> dict[str, int]:
    """Connect a business to Stripe account `account_id`, turn online payments on, and
    put a One-Time (10 h, 240.00) and a Recurring monthly (4 h, 99.00) offering on sale."""
    from prepbase import packages

    tenant = session.get(Tenant, business.tenant.id)  # also from a committed-data session
    tenant.stripe_account_id = account_id
    tenant.stripe_charges_enabled = True
    tenant.online_payments = True
    with as_tenant(tenant.id):
        one_time = packages.save_offering(
            session,
            business.admin,
            None,
            name="Ten Hour Pack",
            service="tutoring",
            package_type="one_time",
            period=None,
            minutes=600,
            rollover=False,
            price_minor=24000,
            currency="usd",
            sold_online=True,
        )
        monthly = packages.save_offering(
            session,
            business.admin,
            None,
            name="Monthly Coaching",
            service="counseling",
            package_type="recurring",
            period="monthly",
            minutes=240,
            rollover=False,
            price_minor=9900,
            currency="usd",
            sold_online=True,
        )
        session.flush()
        ids = {"one_time": one_time.id, "monthly": monthly.id}
    session.commit()
    business.extra.update(ids)
    return ids


def add_group(session: Session, business: Business) -> Business:
    """Give a business (with `add_hours_rows`) a group session proposed to both students
    in a two-seat category families may join (its id in `extra`)."""
    from datetime import UTC, datetime

    from prepbase import categories, scheduling
    from prepbase.models import utcnow

    with as_tenant(business.tenant.id):
        pair = categories.save_category(
            session, None, name="Pairs", colour="#1d4ed8", location_type="virtual",
            location=None, buffer_before_minutes=0, buffer_after_minutes=0,
            reminder_hours=None, link_lead_minutes=30, capacity=2, families_may_join=True,
        )  # fmt: skip
        now = utcnow()
        grouped = scheduling.propose_group(
            session, business.tenant, business.admin, students=business.students,
            staff=business.tutor, service="tutoring",
            starts_at=datetime(now.year + 1, 1, 16, 15, 0, tzinfo=UTC),
            duration_minutes=60, category=pair, now=now,
        )  # fmt: skip
        business.extra["group_id"] = grouped[0].group_id
        session.flush()
    session.commit()
    return business

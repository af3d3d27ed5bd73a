"""Business B is invisible from business A: through the ORM and through every route."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import joinedload, selectinload

from prepbase.mail.outbox import MAX_ATTEMPTS
from prepbase.models import (
    AuthToken,
    Family,
    ImportRun,
    OutboundEmail,
    Package,
    PackagePayment,
    Purchase,
    Student,
    Tenant,
    TimeOff,
    TutoringSession,
    User,
    WebhookDelivery,
    WebhookEndpoint,
)
from prepbase.tenancy import TenantMismatch, TenantRequired, as_tenant, get_scoped, unscoped
from tests.factories import add_group, add_hours_rows

# --- the ORM ------------------------------------------------------------------------------


@pytest.fixture
def two(app, business, other_business):
    with app.app_context():
        yield business, other_business


def names(rows) -> set[str]:
    return {row.first_name for row in rows}


def test_select_sees_only_current_tenant(two, db_session):
    a, b = two
    with as_tenant(a.tenant.id):
        students = db_session.scalars(select(Student)).all()
    assert {s.tenant_id for s in students} == {a.tenant.id}
    assert len(students) == 2


def test_aggregates_are_scoped(two, db_session):
    a, b = two
    with as_tenant(a.tenant.id):
        assert db_session.scalar(select(func.count(Student.id))) == 2
        assert db_session.scalar(select(func.count()).select_from(User)) == 6


def test_joins_any_and_has_are_scoped(two, db_session):
    a, b = two
    with as_tenant(a.tenant.id):
        joined = db_session.scalars(select(Student).join(Student.family)).all()
        families_with_students = db_session.scalars(
            select(Family).where(Family.students.any())
        ).all()
        students_with_login = db_session.scalars(select(Student).where(Student.account.has())).all()
        by_family_name = db_session.scalars(
            select(Student).join(Family).where(Family.name.like("%family"))
        ).all()
    assert {s.tenant_id for s in joined} == {a.tenant.id}
    assert [f.id for f in families_with_students] == [a.family.id]
    assert [s.id for s in students_with_login] == [a.students[0].id]
    assert {s.tenant_id for s in by_family_name} == {a.tenant.id}


def test_eager_and_lazy_loads_are_scoped(two, db_session):
    a, b = two
    tenant_id, family_id = a.tenant.id, a.family.id
    with as_tenant(tenant_id):
        for option in (selectinload(Family.students), joinedload(Family.students)):
            db_session.expunge_all()
            families = db_session.scalars(select(Family).options(option)).unique().all()
            assert [f.id for f in families] == [family_id]
            assert {s.tenant_id for s in families[0].students} == {tenant_id}
        db_session.expunge_all()
        family = db_session.scalars(select(Family)).one()
        assert {m.tenant_id for m in family.members} == {tenant_id}



def test_a_later_load_keeps_the_tenant_its_row_was_loaded_under(two, db_session):
    """The criterion's tenant is a parameter given at execution: a lazy load, or the
    refresh of an expired row with its eager loads, run later outside any tenant or
    inside another one, gets the tenant of the row it starts from."""
    a, b = two
    a_id, b_id, tutor_id = a.tenant.id, b.tenant.id, a.tutor.id
    student_ids = {s.id for s in a.students}
    db_session.expunge_all()  # loaded afresh below, with the criterion
    with as_tenant(a_id):
        family = db_session.scalars(select(Family)).one()
        tutor = db_session.scalars(select(User).where(User.id == tutor_id)).one()
    assert {s.id for s in family.students} == student_ids  # no tenant in scope now
    with as_tenant(b_id):
        assert {m.tenant_id for m in family.members} == {a_id}
    db_session.expire(tutor)
    assert tutor.service_rows and {r.tenant_id for r in tutor.service_rows} == {a_id}


def test_bulk_update_and_delete_are_scoped(two, db_session):
    a, b = two
    with as_tenant(a.tenant.id):
        db_session.execute(update(Student).values(notes="changed by A"))
        db_session.execute(delete(AuthToken))
        db_session.flush()
    with as_tenant(b.tenant.id):
        notes = db_session.scalars(select(Student.notes)).all()
        tokens = db_session.scalars(select(AuthToken)).all()
    assert "changed by A" not in notes
    assert len(tokens) == 1


def test_get_scoped_treats_foreign_rows_as_missing(two, db_session):
    a, b = two
    with as_tenant(a.tenant.id):
        assert get_scoped(db_session, Student, b.students[0].id) is None
        assert get_scoped(db_session, Student, a.students[0].id) is not None


def test_query_without_tenant_raises(two, db_session):
    with pytest.raises(TenantRequired):
        db_session.scalars(select(Student)).all()
    with pytest.raises(TenantRequired):
        db_session.execute(update(Student).values(notes="everyone"))
    with pytest.raises(TenantRequired):
        db_session.scalar(select(func.count(User.id)))


def test_tenant_table_itself_and_unscoped_escape(two, db_session):
    a, b = two
    assert db_session.scalar(select(func.count(Tenant.id))) == 2
    with unscoped():
        assert db_session.scalar(select(func.count(Student.id))) == 4


def test_new_rows_are_stamped_and_mismatch_refused(two, db_session):
    a, b = two
    with as_tenant(a.tenant.id):
        family = Family(name="Stamped family")
        db_session.add(family)
        db_session.flush()
        assert family.tenant_id == a.tenant.id
        db_session.add(Family(name="Smuggled", tenant_id=b.tenant.id))
        with pytest.raises(TenantMismatch):
            db_session.flush()
    db_session.rollback()
    db_session.add(Family(name="Orphan"))
    with pytest.raises(TenantRequired):
        db_session.flush()
    db_session.rollback()


def test_changing_a_foreign_row_is_refused(two, db_session):
    a, b = two
    with as_tenant(b.tenant.id):
        family = db_session.scalars(select(Family)).one()
    with as_tenant(a.tenant.id):
        family.name = "Renamed by A"
        with pytest.raises(TenantMismatch):
            db_session.flush()
    db_session.rollback()


# --- every route --------------------------------------------------------------------------

# Routes outside any business; they show no tenant data. A new one must be added here
# deliberately, after checking it cannot leak another business's rows.
PUBLIC_RULES = {
    "/",
    "/signup",
    # The home page's Sign in: a URL name leads to /<slug>/login (telling no more than
    # that page's 404 does); an e-mail address gets its own sign-in links, with the same
    # answer for anyone (tests/test_first_day.py).
    "/signin",
    "/signin/links",
    "/healthz",
    "/readyz",
    "/favicon.ico",
    "/static/<path:filename>",
    # Stripe's Connect webhook: no session, no tenant in the URL. It acts only on a body
    # signed with the platform's secret, as the business owning `event.account`, and
    # checks the metadata ids against that business's rows (tests/test_webhooks.py).
    "/stripe/webhook",
}

# Which of business B's rows each URL argument names.
ARGUMENTS = {
    "student_id": lambda b: b.students[0].id,
    "family_id": lambda b: b.family.id,
    "user_id": lambda b: b.tutor.id,
    "token": lambda b: b.invite_token,
    "package_id": lambda b: b.extra["package_id"],
    "offering_id": lambda b: b.extra["offering_id"],
    "session_id": lambda b: b.extra["session_id"],
    "group_id": lambda b: b.extra["group_id"],
    "purchase_id": lambda b: b.extra["purchase_id"],
    "payment_id": lambda b: b.extra["payment_id"],
    "time_off_id": lambda b: b.extra["time_off_id"],
    "message_id": lambda b: b.extra["message_id"],
    "run_id": lambda b: b.extra["import_run_id"],
    "category_id": lambda b: b.extra["category_id"],
    "location_id": lambda b: b.extra["location_id"],
    "subject_id": lambda b: b.extra["subject_id"],
    "promo_id": lambda b: b.extra["promo_id"],
    "key_id": lambda b: b.extra["api_key_id"],
    "endpoint_id": lambda b: b.extra["endpoint_id"],
    "delivery_id": lambda b: b.extra["delivery_id"],
}

# The role of business A that passes each blueprint's guard, so the request reaches
# the row lookup instead of stopping at the door.
BLUEPRINT_ROLE = {
    "admin": "admin",
    "tutor": "tutor",
    "family": "parent",
    "auth": "admin",
    "calendar": "admin",  # feeds need no sign-in; another business's token must be a 404
}


def tenant_rules(app):
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/<tenant_slug>"):
            yield rule


# The REST API: the key names the business (no slug in the URL); every one of its routes
# is walked with another business's rows in tests/api/test_api_isolation.py.
API_PREFIX = "/api/v1/"


def test_every_rule_is_public_or_under_a_business(app):
    other = {
        r.rule
        for r in app.url_map.iter_rules()
        if not r.rule.startswith(("/<tenant_slug>", API_PREFIX))
    }
    assert other <= PUBLIC_RULES, f"new route(s) outside /<slug>/: {other - PUBLIC_RULES}"


@pytest.fixture
def with_hours(app, business, other_business, db_session):
    with app.app_context():
        add_hours_rows(db_session, business)
        add_hours_rows(db_session, other_business)
        add_group(db_session, business)
        add_group(db_session, other_business)


def test_every_route_answers_404_for_another_business_rows(
    app, client, auth, business, other_business, db_session, with_hours
):
    data = {
        "password": "taken-over-1234",
        "confirm": "taken-over-1234",
        "name": "Taken over",
        "email": "taken@example.com",
        "first_name": "Taken",
        "last_name": "Over",
        "family": "new",
        "role": "tutor",
        "services": ["tutoring"],
        "hours": "5",
        "note": "taken over",
        "reason": "taken over",
        "attendance": "present",
        "topics": "taken over",
        "duration": "2",
    }
    by_role: dict[str, list] = {}
    for rule in tenant_rules(app):
        args = [a for a in rule.arguments if a != "tenant_slug"]
        if args:
            unknown = set(args) - set(ARGUMENTS)
            assert not unknown, f"{rule.rule}: teach this test which row {unknown} names"
            by_role.setdefault(BLUEPRINT_ROLE[rule.endpoint.split(".")[1]], []).append(rule)
    checked = 0
    for role, rules in by_role.items():
        auth.as_role(business, role)
        for rule in rules:
            args = [a for a in rule.arguments if a != "tenant_slug"]
            path = rule.rule.replace("<tenant_slug>", business.tenant.slug)
            for arg in args:
                path = re.sub(rf"<(?:\w+:)?{arg}>", str(ARGUMENTS[arg](other_business)), path)
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                response = client.open(path, method=method, data=data)
                expected = (404, 410) if "token" in args else (404,)
                assert response.status_code in expected, (method, path, response.status_code)
                checked += 1
        auth.logout(business)
    assert checked >= 10

    # and nothing of B changed
    for row in (
        other_business.tutor,
        other_business.invitee,
        *other_business.students,
        other_business.family,
    ):
        db_session.refresh(row)
    assert other_business.tutor.active is True
    assert other_business.invitee.password_hash is None
    assert {s.first_name for s in other_business.students} == {"Ada", "Ben"}
    with as_tenant(other_business.tenant.id):
        package = db_session.scalar(
            select(Package).where(Package.id == other_business.extra["package_id"])
        )
        ts = db_session.scalar(
            select(TutoringSession).where(TutoringSession.id == other_business.extra["session_id"])
        )
        db_session.refresh(package)
        db_session.refresh(ts)
        assert (package.remaining_minutes, package.active) == (23 * 60, True)
        assert (ts.status, ts.duration_minutes) == ("upcoming", 60)
        purchase = db_session.scalar(
            select(Purchase).where(Purchase.id == other_business.extra["purchase_id"])
        )
        db_session.refresh(purchase)
        assert (purchase.status, purchase.package_id) == ("pending", None)
        assert (
            db_session.scalar(
                select(TimeOff.note).where(TimeOff.id == other_business.extra["time_off_id"])
            )
            == "Winter break"
        )
        run = db_session.get(ImportRun, other_business.extra["import_run_id"])
        db_session.refresh(run)
        assert (run.status, run.rows_created) == ("previewed", 0)
        payment = db_session.get(PackagePayment, other_business.extra["payment_id"])
        assert payment.voided_at is None
        bounced = db_session.get(OutboundEmail, other_business.extra["message_id"])
        db_session.refresh(bounced)
        assert (bounced.status, bounced.attempts) == ("failed", MAX_ATTEMPTS)
        endpoint = db_session.get(WebhookEndpoint, other_business.extra["endpoint_id"])
        db_session.refresh(endpoint)
        assert (endpoint.active, endpoint.url) == (True, "http://127.0.0.1:9/hooks")
        delivery = db_session.get(WebhookDelivery, other_business.extra["delivery_id"])
        db_session.refresh(delivery)
        assert (delivery.status, delivery.attempts) == ("pending", 0)
    assert other_business.family.name == "Rival family"
    with as_tenant(other_business.tenant.id):
        assert db_session.scalar(select(func.count(User.id))) == 6
        assert db_session.scalar(select(func.count(Student.id))) == 2


def test_signed_in_user_of_another_business_gets_404(app, client, auth, business, other_business):
    auth.as_role(other_business, "admin")
    checked = 0
    for rule in tenant_rules(app):
        if [a for a in rule.arguments if a != "tenant_slug"] or "GET" not in rule.methods:
            continue
        path = rule.rule.replace("<tenant_slug>", business.tenant.slug)
        response = client.get(path)
        if rule.endpoint.startswith("tenant.auth."):
            assert response.status_code in (200, 302), path
        else:
            assert response.status_code == 404, path
            checked += 1
    assert checked >= 8
    # the unknown-business page looks the same
    assert client.get("/no-such-business/admin/").status_code == 404


def test_unknown_business_answers_404_page(client):
    response = client.get("/no-such-business/login")
    assert response.status_code == 404
    assert "Page not found" in response.get_data(as_text=True)


def test_every_page_renders_for_every_role(app, client, auth, business, other_business, with_hours):
    """No GET page of the portal errors for a role that may open it."""
    for role in ("admin", "tutor", "counselor", "parent", "student"):
        auth.as_role(business, role)
        for rule in tenant_rules(app):
            if "GET" not in rule.methods:
                continue
            path = rule.rule.replace("<tenant_slug>", business.tenant.slug)
            path = path.replace("<id:student_id>", str(business.students[0].id))
            path = path.replace("<id:family_id>", str(business.family.id))
            path = path.replace("<id:user_id>", str(business.tutor.id))
            path = path.replace("<token>", "not-a-token")
            for arg in ("package_id", "offering_id", "session_id", "purchase_id"):
                path = path.replace(f"<id:{arg}>", str(business.extra[arg]))
            response = client.get(path)
            assert response.status_code < 500, (role, path)
        auth.logout(business)

"""A business's first day (issue 16): the owner's Get going checklist, the new tutor's
working-hours prompt, the home page's Sign in forms, and the docs a clone can open."""

from __future__ import annotations

import re
import subprocess
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from prepbase import availability, packages, people, scheduling
from prepbase.business import signup_business
from prepbase.models import OutboundEmail, Role, Service, StaffService, User, utcnow
from prepbase.tenancy import as_tenant
from tests.factories import PASSWORD

ROOT = Path(__file__).resolve().parent.parent


def text(response) -> str:
    return response.get_data(as_text=True)


def checklist(body: str) -> dict[str, str]:
    """Each Get going step's label → "Done", "To do" or "Optional", and its link."""
    items = re.findall(
        r'<li class="step[^"]*">.*?<a href="([^"]+)">([^<]+)</a>\s*'
        r'<span class="step-state">([^<]+)</span>',
        body,
        re.S,
    )
    return {label: (state, href) for href, label, state in items}


@pytest.fixture
def fresh(app, db_session):
    """A business just signed up: its owner and nothing else."""
    with app.app_context():
        tenant, owner = signup_business(
            db_session,
            business_name="Fresh Start Tutoring",
            slug="fresh",
            timezone="America/New_York",
            admin_name="Fran Owner",
            email="fran@fresh.example.com",
            password=PASSWORD,
        )
        db_session.commit()
    return tenant, owner


def sign_in(client, slug: str, email: str) -> None:
    response = client.post(f"/{slug}/login", data={"email": email, "password": PASSWORD})
    assert response.status_code in (302, 303), text(response)


# --- Get going ---------------------------------------------------------------------------


def test_get_going_ticks_steps_off_as_the_data_appears(app, client, db_session, fresh):
    tenant, owner = fresh
    sign_in(client, "fresh", owner.email)

    def steps() -> dict[str, str]:
        return {
            label: state
            for label, (state, _) in checklist(text(client.get("/fresh/admin/"))).items()
        }

    first = text(client.get("/fresh/admin/"))
    assert "0 of 6 steps done" in first
    assert steps() == {
        "Invite your tutors and counselors": "To do",
        "Set working hours": "To do",
        "Add a family and a student": "To do",
        "Set up an offering": "To do",
        "Give a student a package of hours": "To do",
        "Book or propose the first session": "To do",
        "Turn on online payments": "Optional",
    }

    def act(fn) -> None:
        with app.app_context(), as_tenant(tenant.id):
            fn()
            db_session.commit()

    # An invited tutor counts: the step is "invite".
    act(
        lambda: people.invite_user(
            db_session,
            owner,
            name="Tess Tutor",
            email="tess@fresh.example.com",
            role=Role.TUTOR,
            services=[Service.TUTORING],
            ttl=timedelta(days=7),
        )
    )
    assert steps()["Invite your tutors and counselors"] == "Done"
    with as_tenant(tenant.id):
        tess = db_session.scalar(select(User).where(User.email == "tess@fresh.example.com"))

    week = {0: [(15 * 60, 18 * 60)]}
    act(lambda: availability.set_weekly_hours(db_session, tenant, owner, tess, week))
    assert steps()["Set working hours"] == "Done"

    made = {}

    def family_and_student() -> None:
        family = people.create_family(db_session, owner, name="Lopez family")
        made["student"] = people.save_student(
            db_session,
            owner,
            None,
            family=family,
            first_name="Sofia",
            last_name="Lopez",
            grade="11",
            school="",
            notes="",
        )
        made["parent"] = User(
            name="Maria Lopez",
            email="maria@fresh.example.com",
            role=Role.PARENT,
            password_hash="x",
            family=family,
        )
        db_session.add(made["parent"])

    act(family_and_student)
    assert steps()["Add a family and a student"] == "Done"
    assert "3 of 6 steps done" in text(client.get("/fresh/admin/"))

    def offering() -> None:
        made["offering"] = packages.save_offering(
            db_session,
            owner,
            None,
            name="Growth Package",
            service="tutoring",
            package_type="one_time",
            period=None,
            minutes=600,
            rollover=False,
        )

    act(offering)
    assert steps()["Set up an offering"] == "Done"
    act(
        lambda: packages.assign_package(
            db_session,
            owner,
            made["student"],
            **packages.package_terms(made["offering"]),
            offering=made["offering"],
            start_date=date(2020, 1, 1),
        )
    )
    assert steps()["Give a student a package of hours"] == "Done"
    assert steps()["Book or propose the first session"] == "To do"

    act(
        lambda: scheduling.propose_session(
            db_session,
            tenant,
            tess,
            student=made["student"],
            staff=tess,
            service="tutoring",
            starts_at=utcnow() + timedelta(days=3),
            duration_minutes=60,
        )
    )
    body = text(client.get("/fresh/admin/"))
    assert "steps done" not in body  # all required steps done: the list folds away
    assert "<summary>Get going: every step is done</summary>" in body
    assert body.index('id="next-title"') > body.index("Invitations not yet accepted")
    assert checklist(body)["Turn on online payments"][0] == "Optional"


def test_get_going_links_lead_to_where_each_step_is_done(client, auth, business):
    auth.as_role(business, "admin")
    links = {
        label: href for label, (_, href) in checklist(text(client.get("/acme/admin/"))).items()
    }
    assert links == {
        "Invite your tutors and counselors": "/acme/admin/staff/invite",
        # the first staff member who teaches (by name): Acme Owner
        "Set working hours": f"/acme/admin/staff/{business.admin.id}/availability",
        "Add a family and a student": "/acme/admin/students/new",
        "Set up an offering": "/acme/admin/offerings/new",
        "Give a student a package of hours": (
            f"/acme/admin/students/{business.students[0].id}/packages/new"
        ),
        "Book or propose the first session": "/acme/tutor/sessions/new",
        "Turn on online payments": "/acme/admin/settings/payments",
    }
    for href in links.values():
        assert client.get(href).status_code == 200, href


def test_get_going_counts_only_this_business(
    app, client, auth, business, other_business, db_session
):
    # The other business has everything; this one still has its steps to do.
    from tests.factories import add_hours_rows

    with app.app_context():  # the app's settings (a webhook endpoint on 127.0.0.1)
        add_hours_rows(db_session, other_business)
    auth.as_role(business, "admin")
    states = {
        label: state for label, (state, _) in checklist(text(client.get("/acme/admin/"))).items()
    }
    assert states["Set up an offering"] == "To do"
    assert states["Give a student a package of hours"] == "To do"
    assert states["Book or propose the first session"] == "To do"


def test_get_going_refuses_to_run_without_a_business(app, db_session, business):
    from prepbase.overview import get_going
    from prepbase.tenancy import TenantRequired

    with app.app_context(), pytest.raises(TenantRequired):
        get_going(db_session, online_payments=False)


# --- the new tutor is asked for working hours ----------------------------------------------


def test_new_tutor_is_asked_to_set_working_hours_until_they_do(
    app, client, auth, business, db_session
):
    auth.as_role(business, "tutor")
    first = client.get("/acme/tutor/")
    assert first.status_code == 200  # a prompt, not a redirect
    body = text(first)
    assert "Set your working hours" in body
    assert 'href="/acme/tutor/availability"' in body
    saved = client.post("/acme/tutor/availability/hours", data={"monday": "15:00-18:00"})
    assert saved.status_code == 303, text(saved)
    with app.app_context(), as_tenant(business.tenant.id):
        assert availability.has_working_hours(db_session, business.tutor.id)
    assert "Set your working hours" not in text(client.get("/acme/tutor/"))


def test_admin_who_does_not_teach_is_not_asked(app, client, auth, business, db_session):
    auth.as_role(business, "admin")
    assert "Set your working hours" in text(client.get("/acme/tutor/"))  # the owner teaches
    with app.app_context(), as_tenant(business.tenant.id):
        db_session.execute(
            StaffService.__table__.delete().where(StaffService.user_id == business.admin.id)
        )
        db_session.commit()
    assert "Set your working hours" not in text(client.get("/acme/tutor/"))


# --- the home page's Sign in ----------------------------------------------------------------


def test_home_page_has_a_sign_in_form(client):
    body = text(client.get("/"))
    assert '<form id="business-form" method="post" action="/signin"' in body
    assert '<label for="business">Your business&#39;s URL name</label>' in body
    assert '<form id="links-form" method="post" action="/signin/links"' in body
    assert client.get("/signin").status_code == 200


@pytest.mark.parametrize(
    "typed",
    ["acme", "  ACME ", "/acme/login", "http://localhost/acme/login", "app.example.com/acme"],
)
def test_url_name_leads_to_the_business_sign_in_page(client, business, typed):
    response = client.post("/signin", data={"business": typed})
    assert response.status_code == 303
    assert response.headers["Location"] == "/acme/login"


def test_url_name_over_htmx_redirects_with_hx_redirect(client, business):
    response = client.post("/signin", data={"business": "acme"}, headers={"HX-Request": "true"})
    assert response.status_code == 204 and response.headers["HX-Redirect"] == "/acme/login"


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("nobody-here", "No business signs in with that URL name"),
        ("Not a slug!", "No business signs in with that URL name"),
        ("signup", "No business signs in with that URL name"),
        ("pat@acme.example.com", "That looks like an e-mail address"),
        ("", "Enter the URL name of your business."),
    ],
)
def test_unknown_url_name_is_a_clear_message_not_an_error(client, business, typed, message):
    response = client.post("/signin", data={"business": typed}, headers={"HX-Request": "true"})
    assert response.status_code == 422
    body = text(response)
    assert message in body and body.lstrip().startswith('<form id="business-form"')
    assert client.get("/nobody-here/login").status_code == 404  # what the login page says too


def test_sign_in_links_go_to_every_business_of_the_address(
    app, client, business, other_business, db_session, mailbox
):
    # Pat has a parent account at Acme and, with the same address, one at Rival.
    with app.app_context(), as_tenant(other_business.tenant.id):
        db_session.add(
            User(
                name="Pat Parent",
                email=business.parent.email,
                role=Role.PARENT,
                password_hash=business.parent.password_hash,
                family=other_business.family,
            )
        )
        db_session.commit()
    response = client.post("/signin/links", data={"email": business.parent.email.upper()})
    assert response.status_code == 200
    assert "If that address has an account, we sent it the sign-in links" in text(response)
    # Sent after the answer has gone, from each business's own outbox.
    assert mailbox.messages == []
    queued = db_session.scalars(
        select(OutboundEmail)
        .where(OutboundEmail.to_addr == business.parent.email)
        .execution_options(prepbase_unscoped=True)
    ).all()
    assert sorted(m.tenant_id for m in queued) == sorted(
        [business.tenant.id, other_business.tenant.id]
    )
    response.close()
    messages = mailbox.to(business.parent.email)
    assert sorted(m["Subject"] for m in messages) == [
        "Your sign-in link for Acme Tutoring",
        "Your sign-in link for Rival Tutoring",
    ]
    bodies = "\n".join(mailbox.body(m) for m in messages)
    assert "http://localhost/acme/login" in bodies and "http://localhost/rival/login" in bodies
    assert "http://localhost/acme/forgot-password" in bodies
    acme = next(m for m in messages if "Acme" in m["Subject"])
    assert "http://localhost/acme/login" in mailbox.html(acme)
    assert "rival" not in mailbox.body(acme)  # each e-mail names its own business only


def test_sign_in_links_page_says_the_same_for_a_stranger(client, business, mailbox, db_session):
    known = client.post("/signin/links", data={"email": business.parent.email})
    unknown = client.post("/signin/links", data={"email": "nobody@example.com"})
    invited = client.post("/signin/links", data={"email": business.invitee.email})
    known.close(), unknown.close(), invited.close()

    def answer(response) -> str:
        # Without the CSRF tokens (in the form and in hx-headers): signed with the second
        # they were made in, they differ between requests a second apart.
        return re.sub(r"[\w-]{10,}\.[\w-]{4,8}\.[\w-]{20,}", "TOKEN", text(response))

    assert known.status_code == unknown.status_code == invited.status_code == 200
    assert answer(known) == answer(unknown) == answer(invited)
    assert [m["To"] for m in mailbox.messages] == [business.parent.email]
    # Nobody without a password (an invitation not yet accepted) is sent a sign-in link.
    assert (
        db_session.scalar(
            select(func.count(OutboundEmail.id))
            .where(OutboundEmail.to_addr.in_(["nobody@example.com", business.invitee.email]))
            .execution_options(prepbase_unscoped=True)
        )
        == 0
    )


def test_deactivated_account_gets_no_sign_in_link(app, client, business, db_session, mailbox):
    with app.app_context(), as_tenant(business.tenant.id):
        people.set_active(db_session, business.admin, business.parent, False)
        db_session.commit()
    client.post("/signin/links", data={"email": business.parent.email}).close()
    assert mailbox.messages == []


def test_sign_in_links_refuses_a_bad_address_in_the_form(client, business):
    response = client.post(
        "/signin/links", data={"email": "not an address"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 422
    assert "Enter a valid e-mail address." in text(response)
    assert text(response).lstrip().startswith('<form id="links-form"')


def test_sign_in_links_are_rate_limited_like_the_reset_form(client, business, mailbox):
    for _ in range(5):
        client.post("/signin/links", data={"email": "someone@example.com"}).close()
    assert client.post("/signin/links", data={"email": "x@example.com"}).status_code == 429


def test_sign_in_forms_need_csrf(raw_client, business):
    assert raw_client.post("/signin/links", data={"email": "a@example.com"}).status_code in (
        400,
        422,
    )
    assert raw_client.post("/signin", data={"business": "acme"}).status_code in (400, 422)


# --- README, docs and `make run` --------------------------------------------------------------


def test_readme_and_docs_links_work_in_a_clone():
    readme = (ROOT / "README.md").read_text()
    assert "../shared" not in readme
    assert "(docs/product.md)" in readme and "(docs/first-day.md)" in readme
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", doc.read_text()):
            if "://" in target:
                continue
            assert (doc.parent / target).exists(), f"{doc.name} links to missing {target}"


def test_make_run_serves_on_the_port_it_is_given():
    dry = subprocess.run(
        ["make", "-n", "run", "PORT=5123", "HOST=0.0.0.0"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "--bind 0.0.0.0:5123" in dry
    assert "http://0.0.0.0:5123/" in dry


def test_dashboard_block_renders_for_htmx(client, auth, business):
    auth.as_role(business, "admin")
    response = client.get("/acme/admin/", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "Get going" in text(response) and "<html" not in text(response)


@pytest.mark.parametrize("url", ["/", "/signin"])
def test_sign_in_pages_render_their_content_block_for_htmx(client, url):
    response = client.get(url, headers={"HX-Request": "true"})
    assert response.status_code == 200
    body = text(response)
    assert 'id="business-form"' in body and "<html" not in body

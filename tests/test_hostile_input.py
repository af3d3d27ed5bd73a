"""Hostile or clumsy input gets a clear 4xx with a message, never a 500, and writes nothing.

Each kind is refused in one place (issue 11): control characters by the request net
(`prepbase/inputs.py`) and the base form (`prepbase.forms.Form`), over-long bodies by
Flask's size limits, dates by `DayField`, ids by the `id` URL converter and
`IdSelectField`, hours by `hours.parse_hours`. The cases walk the routes as each role;
the suite runs them on SQLite and on PostgreSQL, where a NUL byte used to be a 500.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from prepbase import hours, localtime, money
from prepbase.errors import DomainError
from prepbase.extensions import db
from prepbase.models import Tenant
from tests.conftest import Auth
from tests.factories import add_hours_rows

ZONE = "Europe/Berlin"  # east of UTC: 0001-01-01 at midnight there is before year 1 in UTC
HUGE = "99999999999999999999999"
# The words people read (prepbase/inputs.py, prepbase/forms.py, prepbase/errorpages.py).
NET = "What you sent contains control characters (such as NUL) that cannot be used."
ONE_LINE = "Use one line of plain text: no line breaks, tabs or control characters."
MULTI_LINE = "Remove the invisible control characters from this text."
TOO_LONG = "That is too much to send at once."
DAY_MESSAGE = "Choose a date between 1 Jan 1900 and 31 Dec 2100."
HOURS = "Enter hours as a number, for example 1.5."


def page_text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def day(days: int = 0) -> str:
    return (localtime.business_today(ZONE) + timedelta(days=days)).isoformat()


@pytest.fixture
def world(app, business, db_session):
    """The business in Berlin, with a package, an offering, a family booking (new to its
    tutor), a purchase and time off; `ids` names them for the URLs below."""
    with app.app_context():
        add_hours_rows(db_session, business)
    db_session.get(Tenant, business.tenant.id).timezone = ZONE
    db_session.commit()
    business.extra["ids"] = {
        "student": business.students[0].id,
        "family": business.family.id,
        "tutor": business.tutor.id,
        "package": business.extra["package_id"],
        "offering": business.extra["offering_id"],
        "session": business.extra["session_id"],
        "purchase": business.extra["purchase_id"],
        "time_off": business.extra["time_off_id"],
    }
    return business


def snapshot(db_session) -> dict[str, list[tuple]]:
    """Every row of every table, read on the test's connection (it sees the requests'
    commits): a refused request must leave it exactly as it was."""
    connection = db_session.connection()
    return {
        table.name: sorted((tuple(row) for row in connection.execute(table.select())), key=repr)
        for table in db.metadata.sorted_tables
    }


@dataclass
class Case:
    """One request as one role, and the answer it must get."""

    role: str  # "anonymous", or a role of the factory business
    method: str
    path: str  # under /<slug>, with {student}, {session}… from `world`; "!" = outside
    data: dict[str, str] = field(default_factory=dict)
    status: int = 422
    message: str = NET
    htmx: bool = False

    def url(self, business) -> str:
        path = fill(self.path, business)
        return path[1:] if path.startswith("!") else business.url(path)


def fill(text: str, business) -> str:
    """`{student}`, `{session}`… replaced by the ids of `world`."""
    return re.sub(r"\{(\w+)\}", lambda m: str(business.extra["ids"][m.group(1)]), text)


def run(case: Case, client, auth, business, db_session):
    if case.role != "anonymous":
        auth.as_role(business, case.role)
    before = snapshot(db_session)
    data = {fill(k, business): fill(v, business) for k, v in case.data.items()}
    response = client.open(
        case.url(business),
        method=case.method,
        data=data if case.method == "POST" else None,
        query_string=data if case.method == "GET" else None,
        headers={"HX-Request": "true"} if case.htmx else {},
    )
    body = page_text(response)
    assert response.status_code == case.status, body[:2000]
    assert case.message in body, body[:4000]
    assert snapshot(db_session) == before, "a refused request wrote to the database"
    return response


def cases(*items: Case) -> list:
    return [pytest.param(c, id=case_id(c)) for c in items]


def case_id(case: Case) -> str:
    """ "admin POST /admin/families/new name": the fields a case spoils, not all it sends."""
    valid = {
        (k, v)
        for form in (SIGNUP, STUDENT, STAFF, SETTINGS, package(), time_off(), schedule())
        for k, v in form.items()
    }
    spoiled = [k for k, v in case.data.items() if (k, v) not in valid] or list(case.data)
    return f"{case.role} {case.method} {case.path} {' '.join(spoiled)}".strip()


# --- valid forms: each case spoils one field --------------------------------------------

SIGNUP = {
    "business_name": "Nova Tutoring",
    "slug": "nova",
    "timezone": "America/New_York",
    "admin_name": "Nova Owner",
    "email": "owner@nova.example.com",
    "password": "correct-horse-battery",
    "confirm": "correct-horse-battery",
}
STUDENT = {
    "first_name": "Cleo",
    "last_name": "Nova",
    "family": "new",
    "grade": "9",
    "school": "Central High",
    "notes": "Likes maths.",
}
STAFF = {"name": "Tom Teacher", "email": "tom@acme.example.com", "role": "tutor"}
SETTINGS = {"name": "Acme Tutoring", "timezone": ZONE, "low_balance_hours": "2"}
OFFERING = {
    "name": "Starter",
    "service": "tutoring",
    "package_type": "one_time",
    "period": "",
    "hours": "10",
    "price": "",
}


def package(**changes: str) -> dict[str, str]:
    return {**OFFERING, "offering": "custom", "start_date": day(), **changes}


def time_off(**changes: str) -> dict[str, str]:
    return {"first_day": day(30), "last_day": day(31), "note": "Away", **changes}


def schedule(**changes: str) -> dict[str, str]:
    return {
        "student": "{student}",
        "service": "tutoring",
        "staff": "{tutor}",
        "date": day(7),
        "start_time": "16:00",
        "duration": "1",
        **changes,
    }


NUL = "a\x00b"

NUL_CASES = cases(
    Case("anonymous", "POST", "/login", {"email": NUL, "password": "x"}),
    Case("anonymous", "POST", "/login", {"email": "pat.parent@acme.example.com", "password": NUL}),
    Case("anonymous", "POST", "/forgot-password", {"email": NUL}),
    Case("anonymous", "POST", "!/signup", {**SIGNUP, "business_name": NUL}),
    Case("anonymous", "GET", "/login", {"next": "/acme/\x00"}),
    Case("admin", "POST", "/admin/students/new", {**STUDENT, "first_name": NUL}),
    Case("admin", "POST", "/admin/students/{student}/edit", {**STUDENT, "notes": NUL}),
    Case("admin", "POST", "/admin/students/{student}/login", {"email": NUL}),
    Case("admin", "POST", "/admin/families/new", {"name": NUL}),
    Case("admin", "POST", "/admin/families/{family}/parents", {"name": NUL, "email": "p@x.com"}),
    Case("admin", "POST", "/admin/staff/invite", {**STAFF, "name": NUL}),
    Case("admin", "POST", "/admin/staff/{tutor}/edit", {**STAFF, "name": NUL}),
    Case("admin", "POST", "/admin/settings", {**SETTINGS, "name": NUL}),
    Case("admin", "POST", "/admin/offerings/new", {**OFFERING, "name": NUL}),
    Case("admin", "POST", "/admin/offerings/{offering}/edit", {**OFFERING, "price": NUL}),
    Case("admin", "POST", "/admin/students/{student}/packages/new", package(name=NUL)),
    Case("admin", "POST", "/admin/packages/{package}/adjust", {"hours": "1", "note": NUL}),
    Case("admin", "POST", "/admin/staff/{tutor}/availability/time-off", time_off(note=NUL)),
    Case("admin", "POST", "/admin/staff/{tutor}/availability/hours", {"monday": NUL}),
    Case("admin", "POST", "/admin/settings/scheduling", {"scheduling-notice_hours": NUL}),
    Case("tutor", "POST", "/tutor/availability/time-off", time_off(note=NUL)),
    Case("tutor", "POST", "/tutor/sessions/{session}/cancel", {"cancel-reason": NUL}),
    Case("tutor", "POST", "/tutor/sessions/{session}/decline", {"decline-{session}-reason": NUL}),
    Case("tutor", "POST", "/tutor/sessions/new", schedule(duration=NUL)),
    Case("parent", "POST", "/family/sessions/new", schedule(duration=NUL)),
    Case("admin", "POST", "/account/password", {"current_password": NUL}),
    # query strings and the address itself
    Case("admin", "GET", "/admin/students", {"q": NUL}),
    Case("admin", "GET", "/admin/sessions", {"status": NUL}),
    Case("admin", "GET", "/admin/reports", {"service": NUL}),
    Case("parent", "GET", "/family/slots", {"duration": NUL}, htmx=True),
    Case("parent", "GET", "/family/staff-options", {"service": NUL}),
    Case("anonymous", "GET", "/reset/a\x00b"),
    Case("anonymous", "GET", "!/acme\x00/login"),
    Case("admin", "GET", "/admin/students", {"q": "a\x1bb"}),  # any control character
    Case("admin", "POST", "/admin/families/new", {"name\x00": "x"}),  # in a field's name
)


@pytest.mark.parametrize("case", NUL_CASES)
def test_nul_and_control_characters_in_a_request_answer_422(case, client, auth, world, db_session):
    """A NUL byte anywhere (PostgreSQL cannot store it), or any control character in the
    address, is refused before anything reads the database."""
    run(case, client, auth, world, db_session)


@pytest.mark.parametrize(
    "case",
    cases(
        Case(
            "anonymous",
            "POST",
            "/login",
            {"email": "pat\x1b@acme.example.com", "password": "x"},
            message=ONE_LINE,
        ),
        Case(
            "anonymous",
            "POST",
            "!/signup",
            {**SIGNUP, "business_name": "Nova\r\nBcc: x@y.z"},
            message=ONE_LINE,
        ),
        Case("admin", "POST", "/admin/families/new", {"name": "Nova\tfamily"}, message=ONE_LINE),
        Case(
            "admin",
            "POST",
            "/admin/students/new",
            {**STUDENT, "notes": "Bell\x07"},
            message=MULTI_LINE,
        ),
        Case(
            "admin", "POST", "/admin/settings", {**SETTINGS, "name": "Acme\u0085"}, message=ONE_LINE
        ),
        Case(
            "admin",
            "POST",
            "/admin/packages/{package}/adjust",
            {"hours": "1", "note": "\x0c"},
            message=MULTI_LINE,
        ),
        Case(
            "tutor",
            "POST",
            "/tutor/sessions/{session}/decline",
            {"decline-{session}-reason": "Away\x1b[31m"},
            message=MULTI_LINE,
        ),
        Case(
            "tutor",
            "POST",
            "/tutor/availability/time-off",
            time_off(note="Away\nall day"),
            message=ONE_LINE,
        ),
    ),
)
def test_control_characters_in_a_form_field_get_a_message_under_it(
    case, client, auth, world, db_session
):
    """A pasted escape, bell or line break in a one-line field: the form comes back (422)
    with the message under the field."""
    response = run(case, client, auth, world, db_session)
    assert 'class="field-error"' in response.get_data(as_text=True)


def test_tabs_and_line_breaks_stay_allowed_in_multi_line_text(client, auth, world, db_session):
    auth.as_role(world, "admin")
    notes = "Line one\r\n\tindented line two"
    response = client.post(
        world.url(f"/admin/students/{world.students[0].id}/edit"),
        data={**STUDENT, "family": str(world.family.id), "notes": notes},
    )
    assert response.status_code == 303
    db_session.refresh(world.students[0])
    assert world.students[0].notes in (notes, notes.replace("\r\n", "\n"))


# --- too long ---------------------------------------------------------------------------

MEGABYTE = "x" * 1_000_000  # under MAX_CONTENT_LENGTH (1 MiB): the field's length refuses it


@pytest.mark.parametrize(
    "case",
    cases(
        Case(
            "admin",
            "POST",
            "/admin/families/new",
            {"name": MEGABYTE * 2},
            status=413,
            message=TOO_LONG,
        ),
        Case(
            "anonymous",
            "POST",
            "/login",
            {"email": MEGABYTE * 2, "password": "x"},
            status=413,
            message=TOO_LONG,
        ),
        Case(
            "admin",
            "POST",
            "/admin/families/new",
            {"name": MEGABYTE},
            message="Field cannot be longer than 120 characters.",
        ),
        Case(
            "tutor",
            "POST",
            "/tutor/sessions/{session}/cancel",
            {"cancel-reason": MEGABYTE},
            message="Field cannot be longer than 1000 characters.",
        ),
        Case(
            "admin",
            "POST",
            "/admin/families/new",
            {"name": "x" * 121},
            message="Field cannot be longer than 120 characters.",
        ),
        Case(
            "admin",
            "POST",
            "/admin/students/new",
            {**STUDENT, "notes": "x" * 5001},
            message="Field cannot be longer than 5000 characters.",
        ),
    ),
)
def test_over_long_input_is_413_or_422(case, client, auth, world, db_session):
    run(case, client, auth, world, db_session)


def test_every_text_field_of_every_form_has_a_maximum_length(app):
    """A text field without a maximum would let a long string reach the database."""
    from wtforms import HiddenField, StringField
    from wtforms.validators import Length

    from prepbase.forms import Form

    checked = 0
    with app.test_request_context():
        for form_class in _all_subclasses(Form):
            form = form_class(meta={"csrf": False})
            for f in form:
                if isinstance(f, StringField) and not isinstance(f, HiddenField):
                    limits = [v.max for v in f.validators if isinstance(v, Length)]
                    assert any(m and m > 0 for m in limits), f"{form_class.__name__}.{f.name}"
                    checked += 1
    assert checked > 40


def test_every_form_inherits_the_base_form(app):
    """The control-character check rides on the base form: a form without it is a hole.
    (`app` has imported every blueprint, so every form class exists.)"""
    from flask_wtf import FlaskForm

    from prepbase.forms import Form

    strays = [c for c in _all_subclasses(FlaskForm) if c is not Form and not issubclass(c, Form)]
    assert strays == []


def _all_subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found.append(sub)
        found.extend(_all_subclasses(sub))
    return found


# --- dates --------------------------------------------------------------------------------

DATE_CASES = cases(
    Case(
        "parent", "POST", "/family/sessions/new", schedule(date="9999-12-31"), message=DAY_MESSAGE
    ),
    Case(
        "parent", "POST", "/family/sessions/new", schedule(date="0001-01-01"), message=DAY_MESSAGE
    ),
    Case("tutor", "POST", "/tutor/sessions/new", schedule(date="9999-12-31"), message=DAY_MESSAGE),
    Case("tutor", "POST", "/tutor/sessions/new", schedule(date="0001-01-01"), message=DAY_MESSAGE),
    Case("admin", "POST", "/tutor/sessions/new", schedule(date="0001-01-01"), message=DAY_MESSAGE),
    Case(
        "tutor",
        "POST",
        "/tutor/sessions/{session}/reschedule",
        {"date": "9999-12-31", "start_time": "10:00"},
        message=DAY_MESSAGE,
    ),
    Case(
        "tutor",
        "POST",
        "/tutor/availability/time-off",
        time_off(last_day="9999-12-31"),
        message=DAY_MESSAGE,
    ),
    Case(
        "tutor",
        "POST",
        "/tutor/availability/time-off",
        time_off(first_day="0001-01-01"),
        message=DAY_MESSAGE,
    ),
    Case(
        "admin",
        "POST",
        "/admin/staff/{tutor}/availability/time-off",
        time_off(last_day="9999-12-31"),
        message=DAY_MESSAGE,
    ),
    Case("admin", "GET", "/admin/sessions", {"date_to": "9999-12-31"}, message=DAY_MESSAGE),
    Case("admin", "GET", "/admin/sessions", {"date_from": "0001-01-01"}, message=DAY_MESSAGE),
    Case("admin", "GET", "/admin/reports", {"date_to": "9999-12-31"}, message=DAY_MESSAGE),
    Case(
        "admin",
        "POST",
        "/admin/students/{student}/packages/new",
        package(start_date="9999-12-31"),
        message=DAY_MESSAGE,
    ),
    Case(
        "admin",
        "POST",
        "/admin/students/{student}/packages/new",
        package(expires_on="9999-12-31"),
        message=DAY_MESSAGE,
    ),
    # pages that read a date from the URL without submitting anything
    Case(
        "parent",
        "GET",
        "/family/slots",
        schedule(date="9999-12-31"),
        status=200,
        message=DAY_MESSAGE,
        htmx=True,
    ),
    Case(
        "parent",
        "GET",
        "/family/sessions/new",
        schedule(date="0001-01-01"),
        status=200,
        message=DAY_MESSAGE,
    ),
)


@pytest.mark.parametrize("case", DATE_CASES)
def test_dates_out_of_range_are_refused_with_a_message(case, client, auth, world, db_session):
    run(case, client, auth, world, db_session)


def test_the_time_module_refuses_days_it_cannot_convert():
    """The guard behind DayField: a day at the edge of what `datetime` holds is a
    refusal with the date message, not an OverflowError."""
    from datetime import date, time

    with pytest.raises(DomainError, match=DAY_MESSAGE):
        localtime.local_to_utc("America/New_York", date(9999, 12, 31), time(23, 0))
    with pytest.raises(DomainError, match=DAY_MESSAGE):
        localtime.local_to_utc(ZONE, date(1, 1, 1), time(0, 0))
    with pytest.raises(DomainError, match=DAY_MESSAGE):
        localtime.day_start_utc(ZONE, date(1, 1, 1))


# --- ids ----------------------------------------------------------------------------------

BLUEPRINT_ROLE = {"admin": "admin", "tutor": "tutor", "family": "parent"}


def id_rules(app) -> list:
    found = []
    for rule in app.url_map.iter_rules():
        args = [a for a in rule.arguments if a.endswith("_id")]
        if rule.rule.startswith("/<tenant_slug>") and args:
            found.extend((rule, method) for method in sorted(rule.methods - {"HEAD", "OPTIONS"}))
    return found


def walk_id_routes(app, world, db_session, bad_id: str) -> None:
    """Every route with an id, as the role its blueprint admits, with `bad_id` for each
    id: 404 and nothing written."""
    rules = id_rules(app)
    assert len(rules) >= 35
    clients = {}
    for role in set(BLUEPRINT_ROLE.values()):
        clients[role] = app.test_client()
        Auth(clients[role]).as_role(world, role)
    before = snapshot(db_session)
    for rule, method in rules:
        client = clients[BLUEPRINT_ROLE[rule.endpoint.split(".")[1]]]
        path = re.sub(r"<(?:\w+:)?tenant_slug>", world.tenant.slug, rule.rule)
        path = re.sub(r"<(?:\w+:)?\w+_id>", bad_id, path)
        response = client.open(path, method=method, data={"reason": "x", "hours": "1"})
        assert response.status_code == 404, (method, path[:80], response.status_code)
        assert "Page not found" in page_text(response)
    assert snapshot(db_session) == before


@pytest.mark.parametrize("big", [str(2**31), HUGE], ids=["2**31", "huge"])
def test_ids_above_the_database_integer_in_any_url_answer_404(app, world, db_session, big):
    """The database's `integer` ends at 2³¹−1: a larger id used to reach the query and
    fail there ("out of range", a 500)."""
    walk_id_routes(app, world, db_session, big)


@pytest.mark.parametrize("bad_id", ["9" * 5000, "0", "١"], ids=["5000-digits", "zero", "arabic"])
def test_other_impossible_ids_in_any_url_stay_404(app, world, db_session, bad_id):
    """Already 404 with werkzeug's `int`; kept so the `id` converter cannot regress them
    (5000 digits are past Python's int() limit, "١" is a digit int() reads as 1)."""
    walk_id_routes(app, world, db_session, bad_id)


def test_the_largest_id_still_reaches_the_view(app, client, auth, world):
    """2³¹−1 is a well-formed id: the view looks for it (and finds nothing)."""
    auth.as_role(world, "admin")
    assert client.get(world.url(f"/admin/students/{2**31 - 1}")).status_code == 404
    adapter = app.url_map.bind("localhost")
    endpoint, args = adapter.match(f"/acme/admin/students/{2**31 - 1}")
    assert args["student_id"] == 2**31 - 1


ID_FIELD_CASES = cases(
    # Book Session shows the open times for the chosen staff member, even on a refusal
    Case(
        "parent", "POST", "/family/sessions/new", schedule(staff=HUGE), message="Not a valid choice"
    ),
    Case(
        "parent",
        "GET",
        "/family/slots",
        schedule(staff=HUGE),
        status=200,
        message="Choose the student, the service and the tutor",
        htmx=True,
    ),
    Case(
        "parent",
        "GET",
        "/family/sessions/new",
        schedule(staff=HUGE),
        status=200,
        message="Book Session",
    ),
    # page numbers: clamped, never the database's "out of range"
    Case("admin", "GET", "/admin/students", {"page": HUGE}, status=200, message="Student"),
    Case("admin", "GET", "/admin/sessions", {"page": HUGE}, status=200, message="Sessions"),
    Case("admin", "GET", "/admin/reports", {"page": HUGE}, status=200, message="Reports"),
)


@pytest.mark.parametrize("case", ID_FIELD_CASES)
def test_ids_out_of_range_in_forms_and_query_strings(case, client, auth, world, db_session):
    run(case, client, auth, world, db_session)


# Already refused by the choices of their select; kept so that IdSelectField (and the
# filters' new "not a choice" messages) keep these answers.
ID_FIELD_GUARDS = cases(
    Case(
        "tutor", "POST", "/tutor/sessions/new", schedule(staff=HUGE), message="Not a valid choice"
    ),
    Case(
        "tutor", "POST", "/tutor/sessions/new", schedule(student=HUGE), message="Not a valid choice"
    ),
    Case(
        "admin", "POST", "/tutor/sessions/new", schedule(staff=HUGE), message="Not a valid choice"
    ),
    Case(
        "parent",
        "POST",
        "/family/sessions/new",
        schedule(student=HUGE),
        message="Not a valid choice",
    ),
    Case(
        "admin",
        "POST",
        "/admin/students/new",
        {**STUDENT, "family": HUGE},
        message="Not a valid choice",
    ),
    Case(
        "admin",
        "GET",
        "/admin/sessions",
        {"staff": HUGE},
        message="Choose a tutor or counselor of this business.",
    ),
    Case(
        "admin",
        "GET",
        "/admin/sessions",
        {"student": "abc"},
        message="Choose a student of this business.",
    ),
    Case(
        "admin",
        "GET",
        "/admin/reports",
        {"staff": HUGE},
        message="Choose a tutor or counselor of this business.",
    ),
    Case(
        "parent",
        "GET",
        "/family/staff-options",
        {"service": "tutoring", "staff": HUGE},
        status=200,
        message="Tutor or counselor",
    ),
    Case("parent", "GET", "/family/", {"accept": HUGE}, status=200, message="Upcoming Sessions"),
    Case("admin", "GET", "/admin/students/new", {"family": HUGE}, status=200, message="Family"),
    Case(
        "tutor",
        "GET",
        "/tutor/sessions/new",
        {"student": HUGE},
        status=200,
        message="Propose Session",
    ),
    Case("admin", "GET", "/admin/students", {"page": "-3"}, status=200, message="Student"),
)


@pytest.mark.parametrize("case", ID_FIELD_GUARDS)
def test_ids_already_refused_by_their_select_stay_refused(case, client, auth, world, db_session):
    run(case, client, auth, world, db_session)


def test_filters_without_a_choice_mean_anyone(client, auth, world):
    """The id filters default to "" (Anyone): no staff or student in the URL is valid."""
    auth.as_role(world, "admin")
    assert client.get(world.url("/admin/sessions?status=upcoming")).status_code == 200
    assert client.get(world.url("/admin/sessions?staff=&student=")).status_code == 200
    assert client.get(world.url("/admin/reports")).status_code == 200


def test_page_number_reads_only_plain_ascii_digits(app):
    from prepbase import inputs

    for given, expected in [
        ("3", 3),
        ("0", 1),
        ("-2", 1),
        ("abc", 1),
        ("", 1),
        ("٣", 1),
        ("1_000", 1),
        ("+4", 1),
        (HUGE, inputs.MAX_PAGE),
    ]:
        with app.test_request_context(query_string={"page": given}):
            assert inputs.page_number() == expected, given


# --- hours ---------------------------------------------------------------------------------

NOT_HOURS = [
    "1_000",
    "+1",
    "١",
    "٣.٥",
    "１",
    "NaN",
    "inf",
    "-inf",
    "1e308",
    "1e3",
    "0x10",
    "1.5.0",
    "1,5,0",
    "- 1",
    "--1",
    "1 000",
    "²",
]


@pytest.mark.parametrize("text", NOT_HOURS)
def test_hours_accept_only_ascii_digits_and_one_separator(text):
    with pytest.raises(DomainError, match=re.escape(HOURS)):
        hours.parse_hours(text, field="hours", max_hours=1000, allow_negative=True)


@pytest.mark.parametrize(
    "text,minutes",
    [("1", 60), ("1.5", 90), ("1,5", 90), (" 2 ", 120), (".5", 30), ("3.", 180), ("0.25", 15)],
)
def test_hours_in_plain_digits_still_parse(text, minutes):
    assert hours.parse_hours(text, field="hours", max_hours=1000) == minutes


def test_negative_hours_only_where_allowed():
    assert hours.parse_hours("-1.5", field="hours", max_hours=1000, allow_negative=True) == -90
    with pytest.raises(DomainError, match="cannot be negative"):
        hours.parse_hours("-1.5", field="hours", max_hours=1000)


@pytest.mark.parametrize(
    "case",
    cases(
        *(
            Case(
                "admin",
                "POST",
                "/admin/packages/{package}/adjust",
                {"hours": t, "note": "n"},
                message=HOURS,
            )
            for t in ("1_000", "+1", "١", "NaN", "inf", "1e308")
        ),
        Case(
            "admin", "POST", "/admin/offerings/new", {**OFFERING, "hours": "1_000"}, message=HOURS
        ),
        Case(
            "admin",
            "POST",
            "/admin/settings",
            {**SETTINGS, "low_balance_hours": "+2"},
            message=HOURS,
        ),
        Case("parent", "POST", "/family/sessions/new", schedule(duration="١"), message=HOURS),
        Case(
            "tutor",
            "POST",
            "/tutor/sessions/{session}/duration",
            {"duration": "1e308"},
            message=HOURS,
        ),
    ),
)
def test_hours_fields_refuse_odd_numbers(case, client, auth, world, db_session):
    run(case, client, auth, world, db_session)


# --- prices: the same reading of typed numbers (prepbase.numbers) ---------------------------

PRICE = "Enter the price as a number, for example 240.00."


@pytest.mark.parametrize("text", [t for t in NOT_HOURS if t not in ("1,5,0", "-inf")])
def test_prices_accept_only_ascii_digits_and_one_point(text):
    with pytest.raises(DomainError) as refused:
        money.parse_price(text, "usd")
    assert refused.value.message in (PRICE, "A price cannot be negative.")


@pytest.mark.parametrize(
    "text,minor", [("240", 24000), ("240.50", 24050), ("1,200.50", 120050), (" 5 ", 500), ("", 0)]
)
def test_prices_in_plain_digits_still_parse(text, minor):
    assert money.parse_price(text, "usd") == minor


@pytest.mark.parametrize(
    "case",
    cases(
        *(
            Case("admin", "POST", "/admin/offerings/new", {**OFFERING, "price": t}, message=PRICE)
            for t in ("1_000", "+5", "١٢", "NaN", "1e3")
        )
    ),
)
def test_price_fields_refuse_odd_numbers(case, client, auth, world, db_session):
    run(case, client, auth, world, db_session)

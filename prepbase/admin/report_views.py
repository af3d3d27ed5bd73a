"""Admin → Reports (design §7): hours over time, students, at risk, staff; CSV downloads.

The filters come from the query string, so a plain GET works without JavaScript and htmx
swaps only the results (charts and tables) when a filter changes. Filters that cannot be
used answer 422 with a message per filter. Figures are defined in prepbase/reports.py.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from flask import current_app, g, render_template, request
from markupsafe import Markup
from sqlalchemy import select
from werkzeug.exceptions import UnprocessableEntity
from werkzeug.wrappers import Response
from wtforms import SelectChoice, SelectField, ValidationError
from wtforms.validators import Optional

from prepbase import reports
from prepbase.admin import bp
from prepbase.admin.session_views import _known
from prepbase.charts import Series, bar_chart, line_chart
from prepbase.csv_export import csv_response
from prepbase.extensions import db
from prepbase.forms import DayField, Form, IdSelectField
from prepbase.hours import format_hours, package_ledger
from prepbase.htmx import is_htmx, render
from prepbase.inputs import page_number
from prepbase.localtime import business_today, format_when
from prepbase.models import (
    STAFF_ROLES,
    LedgerEntry,
    Package,
    Service,
    User,
    utcnow,
)
from prepbase.reports import MONTH, WEEK, ReportFilters, Window
from prepbase.tenant_url import get_or_404

FILTER_NAMES = ("date_from", "date_to", "bucket", "service", "staff")
DEFAULT_WEEKS = 12
EARLIEST = date(2000, 1, 1)
MAX_SPAN_DAYS = 3 * 366
MAX_AHEAD_DAYS = 366


class ReportFilterForm(Form):
    """The report's filters, read from the query string (GET: no CSRF needed)."""

    class Meta:
        csrf = False

    date_from = DayField("From", validators=[Optional()])
    date_to = DayField("To", validators=[Optional()])
    bucket = SelectField(
        "Group by",
        choices=[SelectChoice(WEEK, "Week"), SelectChoice(MONTH, "Month")],
        validate_choice=False,
        validators=[_known("Group by week or by month.")],
    )
    service = SelectField(
        "Service",
        choices=[SelectChoice("", "Any service")]
        + [SelectChoice(s.value, s.label) for s in Service],
        validate_choice=False,
        validators=[_known("Choose Tutoring or Counseling.")],
    )
    staff = IdSelectField(
        "Tutor or counselor",
        default="",  # Anyone
        invalid_choice_message="Choose a tutor or counselor of this business.",
    )

    today: date  # the business's date, set by the view

    def validate_date_from(self, field: DayField) -> None:
        if field.data and field.data < EARLIEST:
            raise ValidationError("Choose a date from 1 Jan 2000 on.")

    def validate_date_to(self, field: DayField) -> None:
        if not field.data:
            return
        if field.data > self.today + timedelta(days=MAX_AHEAD_DAYS):
            raise ValidationError("Choose an end date at most a year from today.")
        start = self.date_from.data
        if start and field.data < start:
            raise ValidationError("The end date is before the start date.")
        if start and (field.data - start).days > MAX_SPAN_DAYS:
            raise ValidationError("A report covers at most 3 years; shorten the range.")

    def filters(self) -> ReportFilters:
        """The validated filters, with the defaults filled in (the last 12 weeks)."""
        date_to = self.date_to.data or max(self.today, self.date_from.data or self.today)
        date_from = self.date_from.data or date_to - timedelta(weeks=DEFAULT_WEEKS) + timedelta(1)
        bucket = self.bucket.data or (WEEK if (date_to - date_from).days <= 183 else MONTH)
        return ReportFilters(
            date_from=date_from,
            date_to=date_to,
            bucket=bucket,
            service=self.service.data or None,
            staff_id=int(self.staff.data) if self.staff.data else None,
        )


def _staff_choices() -> list[SelectChoice]:
    # Kept like the results (a staff member added a minute ago may be missing from the
    # filter for that minute, as from the results).
    def build() -> list[SelectChoice]:
        staff = db.session.execute(
            select(User.id, User.name, User.active)
            .where(User.role.in_(STAFF_ROLES))
            .order_by(User.name, User.id)
        )
        return [SelectChoice("", "Anyone")] + [
            SelectChoice(str(id_), name if active else f"{name} (inactive)")
            for id_, name, active in staff
        ]

    return _kept((g.tenant.id, "staff choices"), build)


def _filter_form() -> ReportFilterForm:
    form = ReportFilterForm(formdata=request.args)
    form.today = business_today(g.tenant)
    form.staff.choices = _staff_choices()
    return form


def _chosen() -> dict[str, str]:
    return {name: request.args[name] for name in FILTER_NAMES if request.args.get(name)}


def bucket_label(start: date, bucket: str) -> str:
    """ "12 Jan" for a week, "Jan 2026" for a month."""
    if bucket == WEEK:
        return f"{start.day} {start.strftime('%b')}"
    return start.strftime("%b %Y")


def hours_value(minutes: int) -> float:
    return minutes / 60


def delay_label(seconds: float | None) -> str:
    """An action plan delay in words: "45 min", "5.5 h", "—" when there is none."""
    if seconds is None:
        return "—"
    if seconds < 3600:
        return f"{round(seconds / 60)} min"
    return f"{format_hours(round(seconds / 60))} h"


def rate_label(rate: float | None) -> str:
    return "—" if rate is None else f"{round(rate * 100)}%"


def day_label(day: date | None) -> str:
    return "—" if day is None else f"{day.day} {day.strftime('%b %Y')}"


def _charts(points: list[reports.HoursBucket], filters: ReportFilters) -> dict[str, Markup]:
    labels = [bucket_label(p.start, filters.bucket) for p in points]
    per = "week" if filters.bucket == WEEK else "month"
    flow = bar_chart(
        "chart-hours-flow",
        f"Hours sold, used and refunded per {per}",
        labels,
        [
            Series("Sold", [hours_value(p.sold) for p in points]),
            Series("Used", [hours_value(p.used) for p in points]),
            Series("Refunded", [hours_value(p.refunded) for p in points]),
        ],
    )
    remaining = line_chart(
        "chart-hours-remaining",
        f"Hours remaining at the end of each {per}",
        labels,
        [Series("Remaining", [hours_value(p.remaining) for p in points])],
    )
    return {"flow": flow, "remaining": remaining}


def _page_number() -> int:
    return page_number()


class _ResultsCache:
    """Rendered report results and filter form, and the staff filter's choices, kept for
    REPORTS_CACHE_SECONDS per business and filters.

    Computing a report on a large business takes tens of milliseconds of aggregate SQL;
    a report a minute old is as good to an owner, so each process keeps the last results
    for a short while (bounded, least recently stored dropped first). It holds no state
    that matters: a miss recomputes, and the key includes the business. Nothing in it
    belongs to one user (the CSRF token and the user's name are outside it)."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self.entries: OrderedDict[tuple[object, ...], tuple[float, Any]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: tuple[object, ...]) -> Any:
        with self.lock:
            found = self.entries.get(key)
            if found is None or found[0] < time.monotonic():
                return None
            return found[1]

    def put(self, key: tuple[object, ...], value: Any, seconds: int) -> None:
        with self.lock:
            self.entries[key] = (time.monotonic() + seconds, value)
            self.entries.move_to_end(key)
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)


_results_cache = _ResultsCache()
T = TypeVar("T")


def _cache_seconds() -> int:
    return int(current_app.config.get("REPORTS_CACHE_SECONDS", 0))


def _kept(key: tuple[object, ...], build: Callable[[], T]) -> T:
    """`build()`, or what it gave for `key` less than REPORTS_CACHE_SECONDS ago."""
    seconds = _cache_seconds()
    if seconds <= 0:
        return build()
    value = _results_cache.get(key)
    if value is None:
        value = build()
        _results_cache.put(key, value, seconds)
    return value


def _report_key(form: ReportFilterForm, chosen: dict[str, str]) -> tuple[object, ...]:
    return (g.tenant.id, g.tenant.timezone, form.filters(), _page_number(), *sorted(chosen.items()))


def _results_html(form: ReportFilterForm, chosen: dict[str, str]) -> Markup:
    filters = form.filters()
    page = _page_number()
    now = utcnow()
    window = Window.of(g.tenant.timezone, filters, now)
    points = reports.hours_over_time(db.session, filters, window)
    students = reports.student_figures(
        db.session, filters, window, offset=(page - 1) * reports.ROWS_PER_PAGE
    )
    pages = max(1, -(-students.total // reports.ROWS_PER_PAGE))
    return Markup(  # noqa: S704 - a rendered (autoescaped) template
        render_template(
            "admin/_report_results.html",
            form=form,
            chosen=chosen,
            filters=filters,
            points=points,
            charts=_charts(points, filters),
            students=students,
            page=min(page, pages),
            pages=pages,
            risky=reports.at_risk(db.session, filters, window),
            staff=reports.staff_figures(db.session, filters, window),
            staff_name={int(c.value): c.label for c in form.staff.choices if c.value},
            generated_at=now,
            cache_seconds=_cache_seconds(),
            bucket_label=bucket_label,
            delay_label=delay_label,
            rate_label=rate_label,
            day_label=day_label,
        )
    )


def _filters_html(form: ReportFilterForm, chosen: dict[str, str]) -> Markup:
    return Markup(  # noqa: S704 - a rendered (autoescaped) template
        render_template("admin/_report_filters.html", form=form, chosen=chosen)
    )


@bp.get("/reports", endpoint="reports")
def reports_page() -> Response:
    form = _filter_form()
    chosen = _chosen()
    if not form.validate():
        errors = render_template("admin/_report_results.html", form=form, chosen=chosen)
        html = Markup(errors)  # noqa: S704 - a rendered (autoescaped) template
        return render(
            "admin/reports.html",
            block="results",
            status=422,
            filters_html=_filters_html(form, chosen),
            results_html=html,
        )
    key = _report_key(form, chosen)
    html = _kept((*key, "results"), lambda: _results_html(form, chosen))
    if is_htmx():  # the filters are the browser's own: only the results change
        return render("admin/reports.html", block="results", results_html=html)

    def filters_html() -> Markup:
        # Show the dates and grouping the report uses, defaults included.
        filters = form.filters()
        form.date_from.data, form.date_to.data = filters.date_from, filters.date_to
        form.bucket.data = filters.bucket
        return _filters_html(form, chosen)

    return render(
        "admin/reports.html",
        results_html=html,
        filters_html=_kept((*key, "filters"), filters_html),
    )


# --- CSV ----------------------------------------------------------------------------------


def _hours(minutes: int) -> Decimal:
    return Decimal(format_hours(minutes))


def _student_row(s: reports.StudentFigures) -> list[object]:
    rate = s.attendance_rate
    return [
        s.name,
        _hours(s.used),
        s.completed_30,
        s.completed_90,
        Decimal(round(rate * 100)) if rate is not None else None,
        s.no_shows,
        s.days_since_last,
        _hours(s.remaining),
        s.runout,
        _hours(s.beyond),
    ]


STUDENT_HEADER = [
    "Student",
    "Hours used",
    "Sessions completed (30 days)",
    "Sessions completed (90 days)",
    "Attendance rate (%)",
    "No-shows",
    "Days since last session",
    "Remaining Hrs",
    "Projected run-out date",
    "Hours booked beyond remaining",
]


def _csv_filename(name: str, filters: ReportFilters) -> str:
    return f"{g.tenant.slug}-{name}-{filters.date_from}-to-{filters.date_to}.csv"


def reports_csv(table: str) -> Response:
    """Every row of one report table (not only the page shown) as a CSV download."""
    form = _filter_form()
    if not form.validate():
        messages = "; ".join(
            f"{form[name].label.text}: {m}" for name, ms in form.errors.items() for m in ms
        )
        raise UnprocessableEntity(description=f"These filters cannot be used: {messages}")
    filters = form.filters()
    window = Window.of(g.tenant.timezone, filters, utcnow())
    if table == "hours":
        points = reports.hours_over_time(db.session, filters, window)
        return csv_response(
            _csv_filename("hours", filters),
            [f"{filters.bucket.title()} starting", "Sold", "Used", "Refunded", "Remaining"],
            (
                [p.start, _hours(p.sold), _hours(p.used), _hours(p.refunded), _hours(p.remaining)]
                for p in points
            ),
        )
    if table == "students":
        page = reports.student_figures(db.session, filters, window, limit=None)
        rows = (_student_row(s) for s in page.rows)
        return csv_response(_csv_filename("students", filters), STUDENT_HEADER, rows)
    if table == "at-risk":
        page = reports.at_risk(db.session, filters, window, limit=None)
        return csv_response(
            _csv_filename("at-risk", filters),
            ["Student", "Why", "Remaining Hrs", "Days since last session"],
            (
                [s.name, "; ".join(s.risks), _hours(s.remaining), s.days_since_last]
                for s in page.rows
            ),
        )
    staff = reports.staff_figures(db.session, filters, window)
    return csv_response(
        _csv_filename("staff", filters),
        ["Staff member", "Hours delivered", "Sessions completed", "Average action plan delay (h)"],
        (
            [
                m.name,
                _hours(m.delivered),
                m.completed,
                _hours(round(m.plan_delay_seconds / 60))
                if m.plan_delay_seconds is not None
                else None,
            ]
            for m in staff
        ),
    )


def _csv_view(table: str) -> Callable[[], Response]:
    def view() -> Response:
        return reports_csv(table)

    view.__name__ = f"reports_csv_{table.replace('-', '_')}"
    return view


# One endpoint per table (reports_csv_hours, …_students, …_at_risk, …_staff).
for _table in ("hours", "students", "at-risk", "staff"):
    _view = _csv_view(_table)
    bp.add_url_rule(f"/reports/{_table}.csv", endpoint=_view.__name__, view_func=_view)


@bp.get("/packages/<id:package_id>/ledger.csv")
def package_ledger_csv(package_id: int) -> Response:
    """Every ledger entry of a package, oldest first, as a CSV download."""
    package = get_or_404(Package, package_id)
    entries = package_ledger(db.session, package)
    zone = g.tenant.timezone

    def session_words(entry: LedgerEntry) -> str:
        ts = entry.session
        return f"{format_when(zone, ts.starts_at)} with {ts.staff.name}" if ts else ""

    return csv_response(
        f"{g.tenant.slug}-package-{package.id}-ledger.csv",
        ["When", "Change", "Hours", "Balance after", "Session", "By", "Note"],
        (
            [
                format_when(zone, e.created_at),
                e.kind.title(),
                _hours(e.minutes),
                _hours(e.balance_after),
                session_words(e),
                e.actor.name if e.actor else "Automatic",
                e.note,
            ]
            for e in entries
        ),
    )

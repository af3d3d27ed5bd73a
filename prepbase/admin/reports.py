"""Admin → Reports (design §7): hours over time, students, at risk, staff; CSV downloads.

The filters come from the query string, so a plain GET works without JavaScript and htmx
swaps only the results (charts and tables) when a filter changes. Filters that cannot be
used answer 422 with a message per filter. Figures are defined in prepbase/reports.py;
rendered results are kept for REPORTS_CACHE_SECONDS (prepbase/cache.py).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import TypeVar

from flask import current_app, g, render_template, request
from markupsafe import Markup
from sqlalchemy import select
from werkzeug.exceptions import UnprocessableEntity
from werkzeug.wrappers import Response

from prepbase import reports
from prepbase.admin.blueprint import bp
from prepbase.admin.forms import ReportFilterForm
from prepbase.cache import Key, TimedCache
from prepbase.charts import Series, bar_chart, line_chart
from prepbase.csv_export import csv_response, hours_cell
from prepbase.extensions import db
from prepbase.forms import SelectChoice, choices
from prepbase.hours import format_hours
from prepbase.htmx import is_htmx, render
from prepbase.inputs import page_number
from prepbase.localtime import business_today
from prepbase.models import STAFF_ROLES, SessionCategory, Subject, User, utcnow
from prepbase.reports import WEEK, ReportFilters, Window

FILTER_NAMES = ("date_from", "date_to", "bucket", "service", "staff", "category", "subject")

# Per process: the rendered results and filter form, and the staff filter's choices, per
# business and filters. Nothing in it belongs to one user (the CSRF token and the user's
# name are outside it).
results_cache = TimedCache()
T = TypeVar("T")


def _cache_seconds() -> int:
    return int(current_app.config.get("REPORTS_CACHE_SECONDS", 0))


def _kept(key: Key, build: Callable[[], T]) -> T:
    return results_cache.kept(key, build, _cache_seconds())


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


def _kind_choices() -> tuple[list[SelectChoice], list[SelectChoice]]:
    # Categories and subjects (design §11), kept like the staff choices.
    def build() -> tuple[list[SelectChoice], list[SelectChoice]]:
        rows = db.session.execute(  # one statement: each category with its subjects
            select(SessionCategory.id, SessionCategory.name, Subject.id, Subject.name)
            .outerjoin(Subject, Subject.category_id == SessionCategory.id)
            .order_by(SessionCategory.name, SessionCategory.id, Subject.name)
        ).all()
        kinds = dict.fromkeys((kind_id, kind) for kind_id, kind, _s, _n in rows)
        return (
            [SelectChoice("", "Any category")]
            + [SelectChoice(str(id_), name) for id_, name in kinds],
            [SelectChoice("", "Any subject")]
            + [
                SelectChoice(str(id_), f"{kind} → {name}")
                for _k, kind, id_, name in rows
                if id_ is not None
            ],
        )

    return _kept((g.tenant.id, "kind choices"), build)


def _filter_form() -> ReportFilterForm:
    form = ReportFilterForm(formdata=request.args)
    form.today = business_today(g.tenant)
    form.staff.choices = _staff_choices()
    form.category.choices, form.subject.choices = _kind_choices()
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


def _report_key(form: ReportFilterForm, chosen: dict[str, str]) -> Key:
    return (g.tenant.id, g.tenant.timezone, form.filters(), page_number(), *sorted(chosen.items()))


def _results_html(form: ReportFilterForm, chosen: dict[str, str]) -> Markup:
    filters = form.filters()
    now = utcnow()
    window = Window.of(g.tenant.timezone, filters, now)
    points = reports.hours_over_time(db.session, filters, window)
    students = reports.student_report(db.session, filters, window, page=page_number())
    return Markup(  # noqa: S704 - a rendered (autoescaped) template
        render_template(
            "admin/_report_results.html",
            form=form,
            chosen=chosen,
            filters=filters,
            points=points,
            charts=_charts(points, filters),
            students=students.students,
            risky=students.at_risk,
            strikes=reports.strikes_by_month(db.session, filters, window),
            staff=reports.staff_figures(db.session, filters, window),
            staff_name={int(c.value): c.label for c in choices(form.staff) if c.value},
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


def _student_row(s: reports.StudentFigures) -> list[object]:
    rate = s.attendance_rate
    return [
        s.name,
        hours_cell(s.used),
        s.completed_30,
        s.completed_90,
        Decimal(round(rate * 100)) if rate is not None else None,
        s.no_shows,
        s.late_cancels,
        s.days_since_last,
        hours_cell(s.remaining),
        s.runout,
        hours_cell(s.beyond),
    ]


STUDENT_HEADER = [
    "Student",
    "Hours used",
    "Sessions completed (30 days)",
    "Sessions completed (90 days)",
    "Attendance rate (%)",
    "No-shows",
    "Late cancellations",
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
                [
                    p.start,
                    hours_cell(p.sold),
                    hours_cell(p.used),
                    hours_cell(p.refunded),
                    hours_cell(p.remaining),
                ]
                for p in points
            ),
        )
    if table == "students":
        every = reports.student_figures(db.session, filters, window, per_page=None)
        rows = (_student_row(s) for s in every.items)
        return csv_response(_csv_filename("students", filters), STUDENT_HEADER, rows)
    if table == "at-risk":
        every = reports.at_risk(db.session, filters, window, per_page=None)
        return csv_response(
            _csv_filename("at-risk", filters),
            ["Student", "Why", "Remaining Hrs", "Days since last session"],
            (
                [s.name, "; ".join(s.risks), hours_cell(s.remaining), s.days_since_last]
                for s in every.items
            ),
        )
    if table == "strikes":
        strikes = reports.strikes_by_month(db.session, filters, window, per_page=None)
        return csv_response(
            _csv_filename("late-cancellations-no-shows", filters),
            ["Month starting", "Student", "Late cancellations", "No-shows"],
            ([r.month, r.name, r.late_cancels, r.no_shows] for r in strikes.items),
        )
    staff = reports.staff_figures(db.session, filters, window)
    return csv_response(
        _csv_filename("staff", filters),
        ["Staff member", "Hours delivered", "Sessions completed", "Average action plan delay (h)"],
        (
            [
                m.name,
                hours_cell(m.delivered),
                m.completed,
                hours_cell(round(m.plan_delay_seconds / 60))
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


# One endpoint per table (reports_csv_hours, …_students, …_at_risk, …_strikes, …_staff).
for _table in ("hours", "students", "at-risk", "strikes", "staff"):
    _view = _csv_view(_table)
    bp.add_url_rule(f"/reports/{_table}.csv", endpoint=_view.__name__, view_func=_view)

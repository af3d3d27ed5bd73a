"""`flask prepbase …` commands."""

from __future__ import annotations

from datetime import date, datetime
from functools import partial

import click
from flask.cli import AppGroup
from sqlalchemy import func, select

from prepbase import api_keys, scheduling
from prepbase.demo import DEMO_SLUG, seed_demo
from prepbase.extensions import db
from prepbase.hours import audit, format_hours
from prepbase.localtime import business_today
from prepbase.mail.outbox import deliver_pending, requeue_stale
from prepbase.mail.sessions import remind_everyone
from prepbase.models import Package, Tenant, utcnow
from prepbase.packages import RenewalReport, renew_due
from prepbase.retry import retrying
from prepbase.tenancy import as_tenant
from prepbase.webhook_delivery.delivery import deliver_everywhere

prepbase_cli = AppGroup("prepbase", help="PrepBase maintenance commands.")


@prepbase_cli.command("seed-demo")
@click.option("--if-missing", is_flag=True, help="Do nothing when the demo business exists.")
def seed_demo_command(if_missing: bool) -> None:
    """Create the demo business with its staff, families and students."""
    if db.session.scalar(select(Tenant).where(Tenant.slug == DEMO_SLUG)) is not None:
        if if_missing:
            click.echo("The demo business exists already.")
            return
        raise click.ClickException("The demo business exists already.")
    logins = seed_demo(db.session)
    db.session.commit()
    click.echo(f"Demo business created at /{DEMO_SLUG}/login — logins:")
    for role, email, password in logins:
        click.echo(f"  {role:<10} {email:<32} {password}")


@prepbase_cli.command("send-mail")
def send_mail_command() -> None:
    """Send e-mail left pending in every business's outbox."""
    total = 0
    for tenant_id in db.session.scalars(select(Tenant.id)).all():
        with as_tenant(tenant_id):
            requeue_stale(db.session)
            total += deliver_pending(db.session, limit=1000)
    click.echo(f"{total} e-mail(s) sent.")


@prepbase_cli.command("deliver-webhooks")
def deliver_webhooks_command() -> None:
    """Send the webhooks that are due (new events, and retries whose wait is over) to
    every business's endpoints; then the e-mails of endpoints turned off for failing.
    Safe on several hosts at once: each delivery is claimed before it is sent."""
    delivered = deliver_everywhere(db.session)
    sent = 0
    for tenant_id in db.session.scalars(select(Tenant.id)).all():
        with as_tenant(tenant_id):
            sent += deliver_pending(db.session, limit=1000)
    click.echo(f"{delivered} webhook(s) delivered, {sent} e-mail(s) sent.")


@prepbase_cli.command("remind")
def remind_command() -> None:
    """E-mail reminders of upcoming sessions that are due (once per session, idempotent)."""
    reminded, sent = remind_everyone(db.session)
    click.echo(f"{reminded} session reminder(s) queued, {sent} e-mail(s) sent.")


@prepbase_cli.command("expire")
def expire_command() -> None:
    """Expire proposals the family left unanswered, and remind families halfway (design
    §12); then send the e-mails. Idempotent, safe on several hosts at once."""
    reminded = expired = sent = 0
    for tenant in db.session.scalars(select(Tenant).order_by(Tenant.id)).all():
        with as_tenant(tenant.id):
            report = scheduling.expire_proposals(db.session, tenant)
            sent += deliver_pending(db.session, limit=1000)
        reminded += report.reminded
        expired += report.expired
    click.echo(f"{expired} proposal(s) expired, {reminded} reminded, {sent} e-mail(s) sent.")


@prepbase_cli.command("forget-idempotency")
def forget_idempotency_command() -> None:
    """Forget the API's Idempotency-Keys older than a day (their retries are long over)."""
    gone = api_keys.forget_old_requests(db.session, utcnow())
    db.session.commit()
    click.echo(f"{gone} idempotency record(s) forgotten.")


@prepbase_cli.command("audit")
def audit_command() -> None:
    """Check that every package's remaining hours equal its ledger and are not negative."""
    mismatches = audit(db.session)
    checked = db.session.scalar(
        select(func.count(Package.id)).execution_options(prepbase_unscoped=True)
    )
    if not mismatches:
        click.echo(f"{checked} package(s) checked: every balance matches its ledger.")
        return
    for m in mismatches:
        click.echo(
            f"package {m.package_id} (business {m.tenant_id}): remaining "
            f"{format_hours(m.remaining)} h, ledger {format_hours(m.ledger_sum)} h",
            err=True,
        )
    raise click.ClickException(f"{len(mismatches)} of {checked} package(s) do not match")


@prepbase_cli.command("renew")
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), help="Pretend it is this day.")
def renew_command(today: datetime | None) -> None:
    """Renew recurring packages whose period began and expire passed packages (idempotent)."""

    def renew_business(day: date) -> RenewalReport:
        # One business's renewals and expiries: one unit of work, run again on a conflict.
        report = renew_due(db.session, day)
        db.session.commit()
        return report

    def fill_waiting(tenant: Tenant, student_id: int, service: str) -> int:
        # Renewed hours go to the student's sessions waiting for them (design §10): one
        # transaction per student and service, after the renewals committed, so it
        # takes its locks in the order every session verb does.
        filled = scheduling.fill_waiting(db.session, tenant, student_id, service, None)
        db.session.commit()
        return len(filled.booked)

    renewed = expired = booked = 0
    for tenant in db.session.scalars(select(Tenant).order_by(Tenant.id)).all():
        day = today.date() if today else business_today(tenant)
        with as_tenant(tenant.id):
            report = retrying(db.session, partial(renew_business, day), what=f"renew {tenant.slug}")
            for student_id, service in sorted(report.hours_for):
                booked += retrying(
                    db.session,
                    partial(fill_waiting, tenant, student_id, service),
                    what=f"fill waiting sessions of {tenant.slug}",
                )
        renewed += report.renewed
        expired += report.expired
    message = f"{renewed} renewal(s), {expired} package(s) expired."
    if booked:
        message += f" {booked} session(s) waiting for hours booked."
    click.echo(message)

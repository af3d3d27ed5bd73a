"""`flask prepbase …` commands."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from prepbase.extensions import db
from prepbase.models import Tenant
from prepbase.notify import deliver_pending
from prepbase.tenancy import as_tenant

prepbase_cli = AppGroup("prepbase", help="PrepBase maintenance commands.")


@prepbase_cli.command("seed-demo")
@click.option("--if-missing", is_flag=True, help="Do nothing when the demo business exists.")
def seed_demo_command(if_missing: bool) -> None:
    """Create the demo business with its staff, families and students."""
    from prepbase.demo import DEMO_SLUG, seed_demo

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
            total += deliver_pending(db.session, limit=1000)
    click.echo(f"{total} e-mail(s) sent.")

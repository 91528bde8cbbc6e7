"""practice-portal CONFIG_URI COMMAND ...: the operator's command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from pyramid.paster import bootstrap, get_appsettings, setup_logging

from adapters.db import migrate
from adapters.db.engine import make_engine
from adapters.db.housekeeping import Housekeeping
from domain.audit import RequestOrigin
from domain.errors import DomainError, UnknownTenant
from domain.passwords.recovery import LINK_LIFETIME, OwnerRecovery
from domain.practitioners.directory import PractitionerDirectory
from domain.ports import Clock
from domain.provisioning.tokens import ProvisioningTokens
from domain.tenancy.onboarding import TenantOnboarding
from entrypoints import worker
from entrypoints.openid_provider.connect import connect_demo_provider
from entrypoints.settings import PortalSettings
from entrypoints.web.factories import provide


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="practice-portal", description="Operate Practice Portal: database, tenants, practitioners."
    )
    parser.add_argument("config_uri", help="settings file, such as development.ini")
    commands = parser.add_subparsers(dest="area", required=True, metavar="COMMAND")

    db = commands.add_parser("db", help="database schema").add_subparsers(dest="command", required=True)
    db.add_parser("upgrade", help="apply the Alembic migrations")

    _tenant_commands(commands)

    practitioner = commands.add_parser("practitioner", help="practitioners").add_subparsers(
        dest="command", required=True
    )
    add = practitioner.add_parser("add", help="provision a practitioner by hand")
    add.add_argument("slug")
    add.add_argument("email")
    add.add_argument("--first-name", required=True)
    add.add_argument("--last-name", required=True)

    demo = commands.add_parser("demo-provider", help="the development-only demo identity provider").add_subparsers(
        dest="command", required=True
    )
    connect = demo.add_parser("connect", help="make it a tenant's identity provider (idempotent; prints what to click)")
    connect.add_argument("slug")

    _background_commands(commands)
    return parser


def _tenant_commands(commands: Any) -> None:
    tenant = commands.add_parser("tenant", help="instances (practices)").add_subparsers(dest="command", required=True)
    create = tenant.add_parser("create", help="create a tenant and its owner")
    create.add_argument("slug", help="instance name: <slug>.<base_domain>")
    create.add_argument("--name", required=True, help="the practice's display name")
    create.add_argument("--owner-email", required=True)
    create.add_argument("--owner-password", help="generated and printed once when left out")
    tenant.add_parser("list", help="list tenants: slug, status, name")
    token = tenant.add_parser("token", help="create a SCIM bearer token and print it once")
    token.add_argument("slug")
    token.add_argument("--name", default="CLI token", help='what the token is for (default: "CLI token")')
    recover = tenant.add_parser(
        "recover", help="mail the owner a single-use link (30 minutes) that signs them in once past the login policy"
    )
    recover.add_argument("slug")


def _background_commands(commands: Any) -> None:
    work = commands.add_parser(
        "worker", help="deliver queued mail with retries and run the clean-ups, until stopped (SIGTERM)"
    )
    work.add_argument("--interval", type=_seconds, default=1.0, help="seconds between passes (default: 1)")
    work.add_argument("--once", action="store_true", help="one pass, then exit (for tests and cron)")
    commands.add_parser(
        "purge",
        help="delete expired sessions, one-time passwords and password links, stale throttle counters, "
        "old sent mail and audit events past each practice's retention, once (for cron; the worker does it "
        "every 5 minutes)",
    )


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError("give between 0 and 3600 seconds")
    return value


def _db_upgrade(args: argparse.Namespace) -> None:
    settings = PortalSettings.load(get_appsettings(args.config_uri))
    migrate.upgrade(make_engine(settings.database_url))
    print("database is up to date")


def _housekeeping(env: dict[str, Any]) -> Housekeeping:
    return Housekeeping(env["registry"].db_engine, env["request"].find_service(Clock))


def _worker(args: argparse.Namespace) -> int:
    setup_logging(args.config_uri)
    with bootstrap(args.config_uri) as env:
        work = worker.Worker(env["registry"].mail_delivery, _housekeeping(env), args.interval)
        return worker.serve(work, args.once)


def _purge(args: argparse.Namespace) -> list[str]:
    with bootstrap(args.config_uri) as env:
        removed = worker.clean_up(_housekeeping(env), env["registry"].mail_delivery)
    return [f"{count} {what}" for what, count in removed.items()]


def _tenant_create(request: Any, args: argparse.Namespace) -> list[str]:
    opened = request.find_service(TenantOnboarding).open_tenant(
        args.slug, args.name, args.owner_email, args.owner_password
    )
    lines = [f"created tenant {opened.tenant.slug} ({opened.tenant.name})", f"owner: {opened.owner.email}"]
    if opened.generated_password:
        lines.append(f"owner password (shown only now): {opened.generated_password}")
    return lines


def _tenant_list(request: Any, args: argparse.Namespace) -> list[str]:
    return [
        f"{tenant.slug}\t{'active' if tenant.active else 'inactive'}\t{tenant.name}"
        for tenant in request.find_service(TenantOnboarding).tenants()
    ]


def _tenant_token(request: Any, args: argparse.Namespace) -> list[str]:
    onboarding = request.find_service(TenantOnboarding)
    tenant = onboarding.tenant(args.slug)
    if tenant is None:
        raise UnknownTenant(args.slug)
    # The operator acts as the account owner, so the token acts for the owner.
    token, secret = request.find_service(ProvisioningTokens).create(tenant, args.name, onboarding.owner_of(tenant))
    return [
        f"created SCIM token {token.name!r} for {tenant.slug}",
        f"SCIM token for {tenant.slug} (shown only now): {secret}",
    ]


def _tenant_recover(request: Any, args: argparse.Namespace) -> list[str]:
    tenant = request.find_service(TenantOnboarding).tenant(args.slug)
    if tenant is None:
        raise UnknownTenant(args.slug)
    owner = request.find_service(OwnerRecovery).send_link(tenant)
    # Never the link itself: whoever runs the command must not be able to sign in as the owner.
    minutes = int(LINK_LIFETIME.total_seconds() // 60)
    return [
        f"recovery link for {tenant.slug} mailed to the account owner {owner.email} (works once, {minutes} minutes)"
    ]


def _practitioner_add(request: Any, args: argparse.Namespace) -> list[str]:
    onboarding = request.find_service(TenantOnboarding)
    tenant = onboarding.tenant(args.slug)
    if tenant is None:
        raise UnknownTenant(args.slug)
    practitioner = request.find_service(PractitionerDirectory).add(
        onboarding.owner_of(tenant), tenant, args.email, args.first_name, args.last_name
    )
    return [f"added {practitioner.full_name} <{practitioner.email}> to {tenant.slug}"]


def _demo_provider_connect(request: Any, args: argparse.Namespace) -> list[str]:
    return connect_demo_provider(request, args.slug)


IN_APP = {
    ("tenant", "create"): _tenant_create,
    ("tenant", "list"): _tenant_list,
    ("tenant", "token"): _tenant_token,
    ("tenant", "recover"): _tenant_recover,
    ("practitioner", "add"): _practitioner_add,
    ("demo-provider", "connect"): _demo_provider_connect,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.area == "worker":
            return _worker(args)
        if args.area == "purge":
            print("\n".join(_purge(args)))
            return 0
        if (args.area, args.command) == ("db", "upgrade"):
            _db_upgrade(args)
            return 0
        with bootstrap(args.config_uri) as env:
            request = env["request"]
            # What a command records in the audit trail comes from the command line, not a browser.
            provide(request, RequestOrigin, RequestOrigin.command_line())
            with request.tm:
                lines = IN_APP[args.area, args.command](request, args)
        # Printed only once committed: a password or token shown must be one that works.
        if lines:
            print("\n".join(lines))
    except DomainError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except SystemExit as exc:  # configuration errors and a database behind its migrations
        if isinstance(exc.code, str):
            print(exc.code, file=sys.stderr)
            return 1
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())

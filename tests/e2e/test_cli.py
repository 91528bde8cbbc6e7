"""The operator's CLI, ``practice-portal CONFIG_URI COMMAND``, run in-process on a real .ini file."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from adapters.db.schema import practitioners, scim_tokens, tenants
from domain.provisioning.tokens import ProvisioningTokens
from domain.tenancy.onboarding import TenantOnboarding
from entrypoints import cli
from entrypoints.web import main as web_app
from tests.e2e.conftest import PASSWORD, app_settings


@dataclass
class Run:
    code: int
    out: str
    err: str


Cli = Callable[..., Run]
CREATE_ACME = ("tenant", "create", "acme", "--name", "Acme Practice", "--owner-email", "boss@acme.test")


def write_config(directory: Path, database_url: str) -> str:
    """An .ini file as an operator writes one: the app section with the test settings."""
    # PasteDeploy interpolates %(name)s, so a literal % (as in a quoted PostgreSQL URL) is doubled.
    settings = app_settings(database_url, directory / "outbox")
    lines = [f"{key} = {value.replace('%', '%%')}" for key, value in settings.items()]
    path = directory / "portal.ini"
    path.write_text("\n".join(["[app:main]", "use = egg:practice-portal", *lines]) + "\n")
    return str(path)


def runner(config_uri: str, capsys: pytest.CaptureFixture[str]) -> Cli:
    def run(*argv: str) -> Run:
        capsys.readouterr()
        code = cli.main([config_uri, *argv])
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run


def count(engine: Engine, table) -> int:  # type: ignore[no-untyped-def]
    with engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(table))


@pytest.fixture
def run(tmp_path: Path, database_url: str, clean_database: Engine, capsys: pytest.CaptureFixture[str]) -> Cli:
    return runner(write_config(tmp_path, database_url), capsys)


@pytest.fixture
def fresh_sqlite_url(tmp_path: Path) -> str:
    """An empty SQLite file: no table, no migration applied."""
    return f"sqlite:///{tmp_path / 'fresh.sqlite'}"


# --- db upgrade ---------------------------------------------------------------------------


def test_db_upgrade_says_the_database_is_up_to_date_and_can_run_again(run):
    for _ in range(2):
        assert run("db", "upgrade") == Run(0, "database is up to date\n", "")


def test_web_app_refuses_to_start_on_a_database_behind_the_migrations(fresh_sqlite_url, tmp_path):
    with pytest.raises(SystemExit) as refused:
        web_app({}, **app_settings(fresh_sqlite_url, tmp_path / "outbox"))
    assert "db upgrade" in str(refused.value.code)


def test_commands_on_a_database_behind_the_migrations_exit_1_until_db_upgrade(fresh_sqlite_url, tmp_path, capsys):
    run = runner(write_config(tmp_path, fresh_sqlite_url), capsys)
    refused = run("tenant", "list")
    assert refused.code == 1 and "db upgrade" in refused.err
    assert run("db", "upgrade").code == 0
    assert run("tenant", "list") == Run(0, "", "")
    web_app({}, **app_settings(fresh_sqlite_url, tmp_path / "outbox"))  # starts now


# --- tenant create, tenant list -----------------------------------------------------------


def test_tenant_create_prints_a_generated_owner_password_once_and_it_logs_in(run, portal):
    created = run("tenant", "create", "acme", "--name", "Acme Practice", "--owner-email", "Boss@Acme.Test")
    assert created.code == 0 and created.err == ""
    (password,) = re.findall(r"owner password \(shown only now\): (\S+)", created.out)
    assert created.out.count(password) == 1
    assert "owner: boss@acme.test" in created.out
    portal.log_in(portal.browser("acme"), "boss@acme.test", password, status=303)
    assert password not in run("tenant", "list").out


def test_tenant_create_with_an_owner_password_prints_none(run, portal):
    created = run(*CREATE_ACME, "--owner-password", PASSWORD)
    assert created.code == 0
    assert "password" not in created.out and PASSWORD not in created.out
    portal.log_in(portal.browser("acme"), "boss@acme.test", PASSWORD, status=303)


@pytest.mark.parametrize("slug", ["acme", "ACME"])
def test_duplicate_slug_exits_1_saying_it_already_exists(run, engine, slug):
    run(*CREATE_ACME)
    refused = run("tenant", "create", slug, "--name", "Other", "--owner-email", "other@acme.test")
    assert refused.code == 1
    assert "already exists" in refused.err and refused.out == ""
    assert count(engine, tenants) == 1 and count(engine, practitioners) == 1


@pytest.mark.parametrize("slug", ["-acme", "acme-", "ac_me", "ac.me", "www", "a" * 64, ""])
def test_bad_slug_exits_1_and_creates_nothing(run, engine, slug):
    refused = run("tenant", "create", "--name", "Acme Practice", "--owner-email", "boss@acme.test", "--", slug)
    assert refused.code == 1 and refused.err.startswith("error: ")
    assert count(engine, tenants) == 0 and count(engine, practitioners) == 0


def test_tenant_list_shows_slug_status_and_name_by_slug(run):
    for slug, name in [("zeta", "Zeta Clinic"), ("acme", "Acme Practice")]:
        run("tenant", "create", slug, "--name", name, "--owner-email", f"boss@{slug}.test")
    assert run("tenant", "list") == Run(0, "acme\tactive\tAcme Practice\nzeta\tactive\tZeta Clinic\n", "")


# --- practitioner add ---------------------------------------------------------------------


@pytest.fixture
def acme(run: Cli) -> Cli:
    run(*CREATE_ACME, "--owner-password", PASSWORD)
    return run


def add_ann(run: Cli, slug: str = "acme", email: str = "ann@acme.test") -> Run:
    return run("practitioner", "add", slug, email, "--first-name", "Ann", "--last-name", "Smith")


def test_practitioner_add_is_then_listed_on_the_admin_page(acme, portal):
    assert add_ann(acme) == Run(0, "added Ann Smith <ann@acme.test> to acme\n", "")
    browser = portal.browser("acme")
    portal.log_in(browser, "boss@acme.test")
    page = browser.get("/admin/practitioners")
    assert "Ann Smith" in page.text and "ann@acme.test" in page.text
    assert portal.mails() == []


def test_practitioner_add_to_an_unknown_tenant_exits_1(acme, engine):
    refused = add_ann(acme, slug="nope")
    assert refused.code == 1 and "no instance called 'nope'" in refused.err
    assert count(engine, practitioners) == 1


@pytest.mark.parametrize("email", ["ann@acme.test", " ANN@Acme.test "])
def test_practitioner_add_with_a_registered_email_exits_1(acme, engine, email):
    add_ann(acme)
    refused = add_ann(acme, email=email)
    assert refused.code == 1 and "ann@acme.test is already registered" in refused.err
    assert count(engine, practitioners) == 2


def test_practitioner_add_with_a_bad_email_exits_1(acme, engine):
    refused = add_ann(acme, email="not-an-email")
    assert refused.code == 1 and "enter a valid email address" in refused.err
    assert count(engine, practitioners) == 1


# --- tenant token -------------------------------------------------------------------------


def scim_token_authenticates(portal, slug: str, token: str):  # type: ignore[no-untyped-def]
    """The token's name when the domain service accepts it on this tenant, else None."""
    with portal.unit_of_work() as request:
        tenant = request.find_service(TenantOnboarding).tenant(slug)
        found = request.find_service(ProvisioningTokens).authenticate(tenant, token)
        return None if found is None else found.name


def test_tenant_token_prints_a_token_once_that_authenticates_for_that_tenant_only(acme, portal, engine):
    acme("tenant", "create", "beta", "--name", "Beta Clinic", "--owner-email", "boss@beta.test")
    created = acme("tenant", "token", "acme", "--name", "Entra ID")
    assert created.code == 0 and created.err == ""
    (token,) = re.findall(r"^SCIM token for acme \(shown only now\): (\S+)$", created.out, re.MULTILINE)
    assert created.out.count(token) == 1
    assert scim_token_authenticates(portal, "acme", token) == "Entra ID"
    assert scim_token_authenticates(portal, "beta", token) is None
    with engine.connect() as connection:
        assert connection.scalar(select(scim_tokens.c.token_digest)) != token


def test_tenant_token_without_a_name_is_called_cli_token_and_listed_on_the_admin_page(acme, portal):
    created = acme("tenant", "token", "acme")
    (token,) = re.findall(r"\(shown only now\): (\S+)", created.out)
    assert scim_token_authenticates(portal, "acme", token) == "CLI token"
    browser = portal.browser("acme")
    portal.log_in(browser, "boss@acme.test")
    page = browser.get("/admin/provisioning")
    assert "CLI token" in page.text and token not in page.text


def test_a_tenant_token_acts_for_the_owner(acme, engine):
    acme("tenant", "token", "acme")
    with engine.connect() as connection:
        owner_id = connection.scalar(select(practitioners.c.id).where(practitioners.c.is_owner))
        assert connection.scalar(select(scim_tokens.c.created_by)) == owner_id


def test_each_tenant_token_is_new(acme):
    first, second = acme("tenant", "token", "acme"), acme("tenant", "token", "acme")
    assert re.findall(r"now\): (\S+)", first.out) != re.findall(r"now\): (\S+)", second.out)


def test_tenant_token_for_an_unknown_tenant_exits_1_and_creates_nothing(acme, engine):
    refused = acme("tenant", "token", "nope")
    assert refused.code == 1 and "no instance called 'nope'" in refused.err and refused.out == ""
    assert count(engine, scim_tokens) == 0


@pytest.mark.parametrize("name", ["", "   ", "x" * 101])
def test_tenant_token_with_a_bad_name_exits_1_and_creates_nothing(acme, engine, name):
    refused = acme("tenant", "token", "acme", "--name", name)
    assert refused.code == 1 and refused.err.startswith("error: ") and refused.out == ""
    assert count(engine, scim_tokens) == 0


# --- help ---------------------------------------------------------------------------------


@pytest.mark.parametrize("argv", [["--help"], ["development.ini", "tenant", "--help"]])
def test_help_exits_0_and_shows_the_usage(capsys, argv):
    with pytest.raises(SystemExit) as exited:
        cli.main(argv)
    assert exited.value.code == 0
    assert "usage: practice-portal" in capsys.readouterr().out

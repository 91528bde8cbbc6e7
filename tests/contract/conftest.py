"""One contract suite for every implementation of a repository port: fake, SQLite, PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass

import pytest
import transaction
from sqlalchemy import Engine

from adapters.db.engine import make_engine, make_session_factory, transactional_session
from adapters.db.scim_groups import SqlScimGroupRepository
from adapters.db.sso_repositories import (
    SqlAuditLog,
    SqlIdentityLinkRepository,
    SqlIdentityProviderRepository,
    SqlLinkChallengeRepository,
)
from adapters.db.repositories import (
    SqlScimTokenRepository,
    SqlPasswordResetTokenRepository,
    SqlPractitionerRepository,
    SqlTenantRepository,
    SqlThrottle,
)
from domain.audit import AuditLog
from domain.ports import (
    IdentityLinkRepository,
    IdentityProviderRepository,
    LinkChallengeRepository,
    PasswordResetTokenRepository,
    PractitionerRepository,
    ScimGroupRepository,
    ScimTokenRepository,
    TenantRepository,
)
from domain.throttle import Throttle
from tests import fakes
from tests.conftest import DATABASES, empty_all_tables, provisioned_database


@dataclass
class Repositories:
    """Typed by the ports, so a suite can only use what every implementation promises."""

    tenants: TenantRepository
    practitioners: PractitionerRepository
    reset_tokens: PasswordResetTokenRepository
    throttle: Throttle
    providers: IdentityProviderRepository
    links: IdentityLinkRepository
    challenges: LinkChallengeRepository
    audit: AuditLog
    scim_tokens: ScimTokenRepository
    scim_groups: ScimGroupRepository


class FakeUnitOfWork:
    def __init__(self) -> None:
        links = fakes.FakeIdentityLinkRepository()
        self.repos = Repositories(
            fakes.FakeTenantRepository(),
            fakes.FakePractitionerRepository(),
            fakes.FakePasswordResetTokenRepository(),
            fakes.FakeThrottle(),
            fakes.FakeIdentityProviderRepository(links),
            links,
            fakes.FakeLinkChallengeRepository(),
            fakes.FakeAuditLog(),
            fakes.FakeScimTokenRepository(),
            fakes.FakeScimGroupRepository(),
        )

    def commit(self) -> None:
        """In memory, what was added is already there."""


class SqlUnitOfWork:
    """Commits for real and reads back through a fresh session, so the mapping is tested."""

    def __init__(self, engine: Engine) -> None:
        self._factory = make_session_factory(engine)
        self._begin()

    def _begin(self) -> None:
        self._manager = transaction.TransactionManager(explicit=True)
        self._manager.begin()
        session = transactional_session(self._factory, self._manager)
        self.repos = Repositories(
            SqlTenantRepository(session),
            SqlPractitionerRepository(session),
            SqlPasswordResetTokenRepository(session),
            SqlThrottle(session),
            SqlIdentityProviderRepository(session),
            SqlIdentityLinkRepository(session),
            SqlLinkChallengeRepository(session),
            SqlAuditLog(session),
            SqlScimTokenRepository(session),
            SqlScimGroupRepository(session),
        )

    def commit(self) -> None:
        self._manager.commit()
        self._begin()

    def close(self) -> None:
        self._manager.abort()


class ContractDatabases:
    """Provisions each kind of database once, on first use, for the whole session."""

    def __init__(self, stack: ExitStack, tmp_path_factory: pytest.TempPathFactory) -> None:
        self._stack, self._tmp = stack, tmp_path_factory
        self._engines: dict[str, Engine] = {}

    def engine(self, kind: str) -> Engine:
        if kind not in self._engines:
            url = self._stack.enter_context(provisioned_database(kind, self._tmp.mktemp(kind)))
            self._engines[kind] = make_engine(url)
            self._stack.callback(self._engines[kind].dispose)
        return self._engines[kind]


@pytest.fixture(scope="session")
def contract_databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ContractDatabases]:
    with ExitStack() as stack:
        yield ContractDatabases(stack, tmp_path_factory)


@pytest.fixture(params=["fake", *DATABASES])
def uow(
    request: pytest.FixtureRequest, contract_databases: ContractDatabases
) -> Iterator[FakeUnitOfWork | SqlUnitOfWork]:
    if request.param == "fake":
        yield FakeUnitOfWork()
        return
    engine = contract_databases.engine(request.param)
    unit = SqlUnitOfWork(engine)
    try:
        yield unit
    finally:
        unit.close()
        empty_all_tables(engine)

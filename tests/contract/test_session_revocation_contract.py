"""What every SessionRevocation promises (the fake included): it ends exactly the sessions it is
asked to end, within one tenant, and no others.

The SQL adapter's sessions are opened and looked up through the web session store, as the
app's requests do; the fake opens and knows its own.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Protocol

import pytest
import transaction
from sqlalchemy import Engine

from adapters.db.engine import make_session_factory, transactional_session
from adapters.db.repositories import SqlPractitionerRepository, SqlTenantRepository
from adapters.db.web_sessions import SessionRow, SqlSessionRevocation, SqlWebSessionStore
from domain.ports import SessionRevocation
from domain.practitioners.practitioner import LoginMethod, Practitioner
from domain.sso.identity import ProviderSession
from domain.tenancy.tenant import Tenant
from tests.conftest import DATABASES, empty_all_tables
from tests.contract.conftest import ContractDatabases
from tests.fakes import FakeSessionRevocation

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)
PASSWORD, SSO = LoginMethod.PASSWORD, LoginMethod.SSO


class Sessions(Protocol):
    @property
    def revocation(self) -> SessionRevocation: ...

    def know(self, tenant: Tenant, *people: Practitioner) -> None:
        """The tenant and its people exist where the sessions are kept."""

    def open_session(
        self,
        tenant_id: str,
        practitioner_id: str | None,
        method: LoginMethod | None,
        through: ProviderSession | None = None,
    ) -> str: ...

    def is_open(self, session_id: str) -> bool: ...

    def follows(self, session_id: str) -> str | None:
        """The provider an open session follows, None when it follows none."""

    def commit(self) -> None: ...


class InMemory:
    def __init__(self) -> None:
        self.revocation = FakeSessionRevocation()

    def open_session(
        self,
        tenant_id: str,
        practitioner_id: str | None,
        method: LoginMethod | None,
        through: ProviderSession | None = None,
    ) -> str:
        return self.revocation.open_session(tenant_id, practitioner_id, method, through)

    def is_open(self, session_id: str) -> bool:
        return self.revocation.is_open(session_id)

    def follows(self, session_id: str) -> str | None:
        through = self.revocation.open[session_id].through
        return None if through is None else through.provider_id

    def know(self, tenant: Tenant, *people: Practitioner) -> None:
        """Sessions in memory need nobody to exist."""

    def commit(self) -> None:
        """In memory, what was done is already there."""


class InDatabase:
    """The web session store and the revocation on one database session, committed for real."""

    def __init__(self, engine: Engine) -> None:
        self._factory = make_session_factory(engine)
        self._slug_of: dict[str, str] = {}
        self._slugs: dict[str, str] = {}  # tenant id -> slug
        self._begin()

    def _begin(self) -> None:
        self._manager = transaction.TransactionManager(explicit=True)
        self._manager.begin()
        self._session = transactional_session(self._factory, self._manager)
        self._store = SqlWebSessionStore(self._session)
        self.revocation = SqlSessionRevocation(self._session)

    def know(self, tenant: Tenant, *people: Practitioner) -> None:
        SqlTenantRepository(self._session).add(tenant)
        self._slugs[tenant.id] = tenant.slug
        for person in people:
            SqlPractitionerRepository(self._session).add(person)

    def open_session(
        self,
        tenant_id: str,
        practitioner_id: str | None,
        method: LoginMethod | None,
        through: ProviderSession | None = None,
    ) -> str:
        session_id = secrets.token_hex(32)
        self._slug_of[session_id] = self._slugs[tenant_id]
        method_value = method.value if method else None
        row = SessionRow(practitioner_id, method_value, {}, NOW, NOW + timedelta(hours=1), through)
        self._store.save(session_id, tenant_id, row, new=True)
        return session_id

    def is_open(self, session_id: str) -> bool:
        return self._store.visit(self._slug_of[session_id], session_id, NOW).session is not None

    def follows(self, session_id: str) -> str | None:
        stored = self._store.visit(self._slug_of[session_id], session_id, NOW).session
        return None if stored is None or stored.through is None else stored.through.provider_id

    def commit(self) -> None:
        self._manager.commit()
        self._begin()

    def close(self) -> None:
        self._manager.abort()


@pytest.fixture(params=["fake", *DATABASES])
def sessions(request: pytest.FixtureRequest, contract_databases: ContractDatabases) -> Iterator[Sessions]:
    if request.param == "fake":
        yield InMemory()
        return
    engine = contract_databases.engine(request.param)
    in_database = InDatabase(engine)
    try:
        yield in_database
    finally:
        in_database.close()
        empty_all_tables(engine)


@dataclass
class Opened:
    acme: str
    beta: str
    ann: str
    sessions: dict[str, str]  # whose and how -> session id

    def still_open(self, store: Sessions) -> set[str]:
        return {whose for whose, session_id in self.sessions.items() if store.is_open(session_id)}


@pytest.fixture
def opened(sessions: Sessions) -> Opened:
    """Acme: Ann by password and by SSO, Bob by password, a visitor not logged in; Beta: Cleo."""
    acme, beta = Tenant.open("acme", "Acme Practice"), Tenant.open("beta", "Beta Practice")
    ann, bob, cleo = (
        Practitioner.register(t, f"{name}@{t.slug}.test", name.title(), "Lee", NOW)
        for t, name in ((acme, "ann"), (acme, "bob"), (beta, "cleo"))
    )
    sessions.know(acme, ann, bob)
    sessions.know(beta, cleo)
    sessions.commit()
    ids = {
        "ann by password": sessions.open_session(acme.id, ann.id, PASSWORD),
        "ann by sso": sessions.open_session(acme.id, ann.id, SSO),
        "bob by password": sessions.open_session(acme.id, bob.id, PASSWORD),
        "acme visitor": sessions.open_session(acme.id, None, None),
        "cleo by password": sessions.open_session(beta.id, cleo.id, PASSWORD),
    }
    sessions.commit()
    return Opened(acme.id, beta.id, ann.id, ids)


def test_ending_a_practitioners_sessions_ends_all_of_theirs_and_no_others(sessions: Sessions, opened: Opened):
    sessions.revocation.end_sessions_of(opened.acme, opened.ann)
    sessions.commit()
    assert opened.still_open(sessions) == {"bob by password", "acme visitor", "cleo by password"}


def test_a_practitioners_sessions_are_ended_only_through_their_own_tenant(sessions: Sessions, opened: Opened):
    sessions.revocation.end_sessions_of(opened.beta, opened.ann)
    sessions.commit()
    assert opened.still_open(sessions) == set(opened.sessions)


def test_ending_the_sessions_opened_one_way_ends_exactly_those_of_that_tenant(sessions: Sessions, opened: Opened):
    sessions.revocation.end_sessions_opened_by(opened.acme, PASSWORD)
    sessions.commit()
    assert opened.still_open(sessions) == {"ann by sso", "acme visitor", "cleo by password"}
    sessions.revocation.end_sessions_opened_by(opened.beta, SSO)
    sessions.commit()
    assert opened.still_open(sessions) == {"ann by sso", "acme visitor", "cleo by password"}


# ---- sessions opened through an identity provider ------------------------------------------------


@pytest.fixture
def through_providers(sessions: Sessions, opened: Opened) -> Opened:
    """Besides ``opened``: Ann twice through provider "idp-1" (sids s1, s2), once through "idp-2",
    and Cleo of Beta through "idp-1" (another practice's provider id, the same string)."""
    through = {
        "ann at idp-1 s1": (opened.acme, ProviderSession("idp-1", "ann-sub", "s1", "token-1")),
        "ann at idp-1 s2": (opened.acme, ProviderSession("idp-1", "ann-sub", "s2", "token-2")),
        "ann at idp-2": (opened.acme, ProviderSession("idp-2", "ann-sub", "s1", "token-3")),
        "cleo at idp-1": (opened.beta, ProviderSession("idp-1", "ann-sub", "s1", "token-4")),
    }
    for whose, (tenant_id, provider_session) in through.items():
        opened.sessions[whose] = sessions.open_session(tenant_id, opened.ann, SSO, provider_session)
    sessions.commit()
    return opened


def test_a_logout_token_ends_the_sessions_of_its_sid_at_that_provider_in_that_tenant(
    sessions: Sessions, through_providers: Opened
):
    opened = through_providers
    assert sessions.revocation.end_provider_sessions(opened.acme, "idp-1", "s1", "ann-sub") == 1
    sessions.commit()
    assert {"ann at idp-1 s1"} == set(opened.sessions) - opened.still_open(sessions)
    assert sessions.revocation.end_provider_sessions(opened.acme, "idp-1", None, "ann-sub") == 1
    sessions.commit()
    assert {"ann at idp-1 s1", "ann at idp-1 s2"} == set(opened.sessions) - opened.still_open(sessions)


def test_a_provider_no_longer_followed_leaves_its_sessions_open_and_unnamed_by_logout_tokens(
    sessions: Sessions, through_providers: Opened
):
    opened = through_providers
    assert sessions.revocation.stop_following(opened.acme, "idp-1") == 2
    sessions.commit()
    assert opened.still_open(sessions) == set(opened.sessions)
    following = {whose: sessions.follows(session_id) for whose, session_id in opened.sessions.items()}
    assert following == {
        "ann by password": None,
        "ann by sso": None,
        "bob by password": None,
        "acme visitor": None,
        "cleo by password": None,
        "ann at idp-1 s1": None,
        "ann at idp-1 s2": None,
        "ann at idp-2": "idp-2",
        "cleo at idp-1": "idp-1",
    }
    assert sessions.revocation.end_provider_sessions(opened.acme, "idp-1", None, "ann-sub") == 0

"""Engines and sessions, shared by the web app, the CLI and the tests."""

from __future__ import annotations

from typing import Any

import transaction
from transaction._transaction import Status as ZopeStatus  # as zope.sqlalchemy itself imports it
from zope.sqlalchemy.datamanager import STATUS_CHANGED, join_transaction
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from adapters.db.orm import start_mappers


def make_engine(url: str, *, ping_on_checkout: bool = True) -> Engine:
    """``ping_on_checkout``: a round trip before each checkout's first statement finds a connection
    the server dropped. The web app turns it off and retries a request that meets one instead
    (entrypoints/web: ``retry_on_lost_connections``), so that no page pays the round trip.

    A database error never repeats its statement's parameters (``hide_parameters``): they hold mail
    bodies with single-use links and codes, ID tokens and password hashes, and the error is logged."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30}, hide_parameters=True)
        _make_sqlite_transactional(engine)
        return engine
    return create_engine(url, pool_pre_ping=ping_on_checkout, hide_parameters=True)


def _make_sqlite_transactional(engine: Engine) -> None:
    """pysqlite's own transaction handling breaks SAVEPOINTs; let SQLAlchemy emit BEGIN."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # IMMEDIATE: take the write lock up front, so a concurrent request waits (busy
        # timeout) instead of failing with "database is locked" when it upgrades to writing.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    start_mappers()
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    _join_each_session_to_its_manager(factory)
    return factory


def transactional_session(factory: sessionmaker[Session], manager: transaction.TransactionManager) -> Session:
    """A session joined to ``manager``: committed or aborted with the unit of work."""
    return factory(info={_MANAGER: manager})


_MANAGER = "transaction_manager"


def _join_each_session_to_its_manager(factory: sessionmaker[Session]) -> None:
    """zope.sqlalchemy's events, listened for once per factory instead of once per session (seven
    ``event.listen`` calls a request); each session names its own manager in ``session.info``.

    Joined as changed from the start: zope.sqlalchemy otherwise rolls back a session that ran
    only Core statements (throttle counters, web sessions), silently losing them. So marking a
    session changed after a flush or a DML statement, zope.sqlalchemy's other events, has nothing
    left to do.
    """

    def join(session: Session, *_: Any) -> None:
        join_transaction(session, STATUS_CHANGED, session.info[_MANAGER])

    def only_through_the_manager(session: Session) -> None:
        committing = session.info[_MANAGER].get().status == ZopeStatus.COMMITTING
        if not (session.in_nested_transaction() or committing):
            raise RuntimeError("a session of a unit of work is committed by its transaction manager")

    event.listen(factory, "after_begin", join)
    event.listen(factory, "after_attach", join)
    event.listen(factory, "before_commit", only_through_the_manager)

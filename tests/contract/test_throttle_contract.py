"""What every Throttle promises (the fake included): counts per bucket and window, atomically."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from domain.throttle import ThrottleRule
from tests.conftest import DATABASES, empty_all_tables
from tests.contract.conftest import ContractDatabases, FakeUnitOfWork, SqlUnitOfWork

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)
THREE = ThrottleRule(max_uses=3, window=timedelta(minutes=10))


def take(uow: Any, times: int, bucket: str = "a", rule: ThrottleRule = THREE, now: datetime = NOW) -> list[bool]:
    answers = [uow.repos.throttle.take(bucket, rule, now) for _ in range(times)]
    uow.commit()
    return answers


def test_a_bucket_admits_its_limit_within_a_window_then_refuses(uow):
    assert take(uow, 4) == [True, True, True, False]
    assert take(uow, 1) == [False]
    assert take(uow, 3, bucket="b") == [True, True, True]


def test_a_window_opens_again_once_it_has_closed_and_counts_from_zero(uow):
    take(uow, 3)
    assert take(uow, 1, now=NOW + timedelta(minutes=9, seconds=59)) == [False]
    later = NOW + timedelta(minutes=10)
    assert take(uow, 4, now=later) == [True, True, True, False]
    assert take(uow, 1, now=later + timedelta(minutes=9)) == [False]


def test_a_use_given_back_can_be_taken_again_and_never_below_nothing(uow):
    take(uow, 3)
    uow.repos.throttle.give_back("a")
    uow.commit()
    assert take(uow, 2) == [True, False]
    for bucket in ("a", "a", "a", "a", "unknown"):
        uow.repos.throttle.give_back(bucket)
    uow.commit()
    assert take(uow, 4) == [True, True, True, False]


def test_clearing_a_bucket_forgets_its_uses_and_no_other(uow):
    take(uow, 3)
    take(uow, 3, bucket="b")
    uow.repos.throttle.clear("a")
    uow.commit()
    assert take(uow, 1) == [True]
    assert take(uow, 1, bucket="b") == [False]


@pytest.fixture(params=["fake", *DATABASES])
def open_unit(request: pytest.FixtureRequest, contract_databases: ContractDatabases) -> Iterator[Callable[[], Any]]:
    """Opens units of work on one store: on a database each has a transaction of its own."""
    if request.param == "fake":
        shared = FakeUnitOfWork()
        yield lambda: shared
        return
    engine = contract_databases.engine(request.param)
    opened: list[SqlUnitOfWork] = []

    def open_() -> SqlUnitOfWork:
        unit = SqlUnitOfWork(engine)
        opened.append(unit)
        return unit

    try:
        yield open_
    finally:
        for unit in opened:
            unit.close()
        empty_all_tables(engine)


def test_of_thirty_concurrent_takes_exactly_the_limit_succeed(open_unit):
    rule = ThrottleRule(max_uses=10, window=timedelta(minutes=15))
    barrier = threading.Barrier(30)

    def one_take(_: int) -> bool:
        unit = open_unit()
        barrier.wait(timeout=30)
        taken = unit.repos.throttle.take("contended", rule, NOW)
        unit.commit()
        return bool(taken)

    with ThreadPoolExecutor(max_workers=30) as pool:
        answers = list(pool.map(one_take, range(30)))
    assert answers.count(True) == 10
    assert take(open_unit(), 1, bucket="contended", rule=rule) == [False]

"""take_all: several limits taken together, all of them or none, in one fixed order."""

from datetime import datetime, timedelta, timezone

from domain.throttle import ThrottleRule, take_all
from tests.fakes import FakeThrottle

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)
TWICE = ThrottleRule(max_uses=2, window=timedelta(minutes=10))
ONCE = ThrottleRule(max_uses=1, window=timedelta(hours=1))


class OrderRecordingThrottle(FakeThrottle):
    def __init__(self) -> None:
        super().__init__()
        self.taken: list[str] = []

    def take(self, bucket: str, rule: ThrottleRule, now: datetime) -> bool:
        self.taken.append(bucket)
        return super().take(bucket, rule, now)


def test_every_bucket_admits_the_use_and_counts_it(world):
    assert take_all(world.throttle, {"a": TWICE, "b": TWICE}, NOW) is None
    assert take_all(world.throttle, {"a": TWICE, "b": TWICE}, NOW) is None
    assert take_all(world.throttle, {"a": TWICE}, NOW) is TWICE


def test_a_spent_bucket_refuses_with_its_rule_and_what_was_taken_is_given_back(world):
    assert world.throttle.take("z", ONCE, NOW)
    for _ in range(5):
        assert take_all(world.throttle, {"a": TWICE, "z": ONCE}, NOW) is ONCE
    assert take_all(world.throttle, {"a": TWICE}, NOW) is None
    assert take_all(world.throttle, {"a": TWICE}, NOW) is None
    assert take_all(world.throttle, {"a": TWICE}, NOW) is TWICE


def test_buckets_are_taken_in_sorted_order_whatever_order_they_are_given_in():
    throttle = OrderRecordingThrottle()
    take_all(throttle, {"login:t:ann": TWICE, "login-address:10.0.0.1": TWICE, "a": TWICE}, NOW)
    assert throttle.taken == ["a", "login-address:10.0.0.1", "login:t:ann"]


def test_a_bucket_opens_again_when_its_window_has_passed(world):
    take_all(world.throttle, {"a": ONCE}, NOW)
    assert take_all(world.throttle, {"a": ONCE}, NOW + timedelta(minutes=59)) is ONCE
    assert take_all(world.throttle, {"a": ONCE}, NOW + timedelta(hours=1)) is None

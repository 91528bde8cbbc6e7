"""Services are built from their constructors' annotations: by name, never by position."""

from __future__ import annotations

from typing import Protocol

import pytest
from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationExecutionError
from pyramid.request import Request, apply_request_extensions

from domain.ports import Clock, TokenSource
from entrypoints.builder import Recipe, WiringError, build
from entrypoints.web.factories import add_adapter, add_service, provide
from tests import fakes


class Issuer:
    def __init__(self, clock: Clock, tokens: TokenSource) -> None:
        self.clock = clock
        self.tokens = tokens


class IssuerReordered:
    def __init__(self, tokens: TokenSource, clock: Clock) -> None:
        self.clock = clock
        self.tokens = tokens


class Switched:
    def __init__(self, clock: Clock, strict: bool, retries: int = 3) -> None:
        self.clock = clock
        self.strict = strict
        self.retries = retries


class Chained:
    def __init__(self, issuer: Issuer) -> None:
        self.issuer = issuer


@pytest.fixture
def find():
    ports = {Clock: fakes.FakeClock(), TokenSource: fakes.FakeTokenSource()}

    def lookup(need):
        return ports[need] if need in ports else build(need, lookup)

    lookup.ports = ports
    return lookup


@pytest.mark.parametrize("cls", [Issuer, IssuerReordered])
def test_a_reordered_constructor_still_gets_each_collaborator_by_name(cls, find):
    built = build(cls, find)

    assert built.clock is find.ports[Clock]
    assert built.tokens is find.ports[TokenSource]


def test_a_service_asked_for_by_another_is_built_the_same_way(find):
    assert build(Chained, find).issuer.clock is find.ports[Clock]


def test_a_plain_value_is_passed_by_name_and_a_defaulted_one_keeps_its_default(find):
    switched = build(Switched, find, strict=True)

    assert (switched.strict, switched.retries) == (True, 3)
    assert Recipe.of(Switched, strict=True).needs == {"clock": Clock}


def test_a_plain_value_left_out_is_a_wiring_error():
    with pytest.raises(WiringError, match=r"Switched\(strict: <class 'bool'>\).*pass it as an option"):
        Recipe.of(Switched)


def test_an_option_the_constructor_does_not_take_is_a_wiring_error():
    with pytest.raises(WiringError, match="takes no parameter strictly"):
        Recipe.of(Switched, strict=True, strictly=False)


def test_an_annotation_that_names_nothing_is_a_wiring_error():
    class Misspelt:
        def __init__(self, clock: Clokc) -> None:  # noqa: F821
            self.clock = clock

    with pytest.raises(WiringError, match="Misspelt's constructor has an annotation that names nothing"):
        Recipe.of(Misspelt)


def test_a_parameter_without_an_annotation_is_a_wiring_error():
    class Bare:
        def __init__(self, clock) -> None:  # type: ignore[no-untyped-def]
            self.clock = clock

    with pytest.raises(WiringError, match=r"Bare\(clock\): annotate it"):
        Recipe.of(Bare)


def test_collaborators_passed_in_bulk_are_a_wiring_error():
    class Bulk:
        def __init__(self, *ports: Clock) -> None:
            self.ports = ports

    with pytest.raises(WiringError, match="name every collaborator"):
        Recipe.of(Bulk)


def test_a_port_is_implemented_by_an_adapter_not_built():
    class Port(Protocol):
        def now(self) -> int: ...

    with pytest.raises(WiringError, match="Port is a port"):
        Recipe.of(Port)


def _app_config() -> Configurator:
    config = Configurator()
    config.include("pyramid_services")
    config.include("entrypoints.web.factories")
    return config


def test_the_web_app_does_not_start_when_a_service_needs_what_nobody_provides():
    config = _app_config()
    config.register_service(fakes.FakeClock(), Clock)
    add_service(config, Issuer)

    with pytest.raises(
        ConfigurationExecutionError, match=r"Issuer\(tokens: TokenSource\): nothing provides TokenSource"
    ):
        config.commit()


def test_the_web_app_builds_a_service_per_request_from_its_registered_collaborators():
    config = _app_config()
    clock, tokens = fakes.FakeClock(), fakes.FakeTokenSource()
    config.register_service(clock, Clock)
    config.register_service(tokens, TokenSource)
    add_service(config, Chained)  # before what it needs: only the end of configuration counts
    add_service(config, Issuer)
    config.commit()
    request = Request.blank("/")
    request.registry = config.registry
    apply_request_extensions(request)

    chained = request.find_service(Chained)

    assert (chained.issuer.clock, chained.issuer.tokens) == (clock, tokens)
    assert chained.issuer is request.find_service(Issuer, context=None)


def test_a_request_builds_each_port_adapter_once_and_shares_it_between_services_and_views():
    config = _app_config()
    made: list[fakes.FakeTokenSource] = []

    def tokens_for(_request: Request) -> fakes.FakeTokenSource:
        made.append(fakes.FakeTokenSource())
        return made[-1]

    add_adapter(config, Clock, lambda _request: fakes.FakeClock())
    add_adapter(config, TokenSource, tokens_for)
    add_service(config, Chained)
    add_service(config, Issuer)
    config.commit()
    request = Request.blank("/")
    request.registry = config.registry
    apply_request_extensions(request)

    chained = request.find_service(Chained)

    assert chained.issuer.tokens is request.find_service(TokenSource, context=None) is made[0]
    assert len(made) == 1


def test_a_port_provided_for_a_request_replaces_its_adapter_there_only():
    config = _app_config()
    add_adapter(config, Clock, lambda _request: fakes.FakeClock())
    add_adapter(config, TokenSource, lambda _request: fakes.FakeTokenSource())
    add_service(config, Issuer)
    config.commit()
    requests = [Request.blank("/"), Request.blank("/")]
    for request in requests:
        request.registry = config.registry
        apply_request_extensions(request)
    mine = fakes.FakeTokenSource()

    provide(requests[0], TokenSource, mine)

    assert requests[0].find_service(Issuer).tokens is mine
    assert requests[1].find_service(Issuer).tokens is not mine

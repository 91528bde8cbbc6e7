"""Domain services as per-request pyramid_services factories, built from their constructors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pyramid.config import Configurator
from pyramid.interfaces import PHASE3_CONFIG
from pyramid.request import Request

from entrypoints.builder import Recipe, WiringError

T = TypeVar("T")

# After every feature has registered its factories, whatever the order of the includes.
AFTER_REGISTRATION = PHASE3_CONFIG + 10


def add_service(config: Configurator, cls: type[Any], **options: object) -> None:
    """Registers ``cls`` under its own class; a constructor no one can satisfy stops the start."""
    recipe = Recipe.of(cls, **options)
    _recipes(config.registry)[cls] = recipe
    config.register_service_factory(lambda _context, request: built(request, cls), cls)
    config.action(None, lambda: _check_provided(config, recipe), order=AFTER_REGISTRATION)


def add_adapter(config: Configurator, port: type[T], make: Callable[[Request], T]) -> None:
    """Registers what provides ``port`` for a request (a per-request adapter, or a lambda that
    returns a process-wide one); ``make`` is typed by the port, so mypy checks the adapter."""
    _adapters(config.registry)[port] = make
    config.register_service_factory(lambda _context, request: built(request, port), port)


def built(request: Request, cls: type[Any]) -> object:
    """The request's one instance of ``cls``, whether a view asks pyramid_services for it or a
    service's constructor needs it: a domain service is built from its recipe, a port's adapter by
    its maker, each once a request. Resolving the graph through pyramid_services instead registers
    every instance in a per-request component registry, which costs more than building the
    services: a callback's dozen services and ports made fifty such lookups."""
    made: dict[type[Any], object] = request.built_services
    if cls not in made:
        recipe = _recipes(request.registry).get(cls)
        make = _adapters(request.registry).get(cls)
        if recipe is not None:
            made[cls] = recipe.build(lambda need: built(request, need))
        elif make is not None:
            made[cls] = make(request)
        else:  # registered with pyramid_services directly (register_service)
            made[cls] = request.find_service(cls, context=None)
    return made[cls]


def provide(request: Request, port: type[T], instance: T) -> None:
    """This request's ``port`` is ``instance`` (the command line's origin, say), for every service
    built in it from now on, and for pyramid_services lookups alike."""
    request.built_services[port] = instance
    request.services.set(instance, port, context=None)


def _recipes(registry: Any) -> dict[type[Any], Recipe[Any]]:
    if not hasattr(registry, "service_recipes"):
        registry.service_recipes = {}
    return registry.service_recipes  # type: ignore[no-any-return]


def _adapters(registry: Any) -> dict[type[Any], Callable[[Request], object]]:
    if not hasattr(registry, "port_adapters"):
        registry.port_adapters = {}
    return registry.port_adapters  # type: ignore[no-any-return]


def includeme(config: Configurator) -> None:
    config.add_request_method(lambda _request: {}, "built_services", reify=True)


def _check_provided(config: Configurator, recipe: Recipe[Any]) -> None:
    for name, need in recipe.needs.items():
        try:
            config.find_service_factory(need)
        except LookupError:
            raise WiringError(
                f"{recipe.target.__name__}({name}: {need.__name__}): nothing provides {need.__name__}; "
                "register an adapter in wiring.py or the service in its feature's includeme"
            ) from None

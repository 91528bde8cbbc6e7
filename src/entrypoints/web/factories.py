"""Domain services as per-request pyramid_services factories, built from their constructors."""

from __future__ import annotations

from typing import Any

from pyramid.config import Configurator
from pyramid.interfaces import PHASE3_CONFIG
from pyramid.request import Request

from entrypoints.builder import Recipe, WiringError

# After every feature has registered its factories, whatever the order of the includes.
AFTER_REGISTRATION = PHASE3_CONFIG + 10


def add_service(config: Configurator, cls: type[Any], **options: object) -> None:
    """Registers ``cls`` under its own class; a constructor no one can satisfy stops the start."""
    recipe = Recipe.of(cls, **options)

    def factory(_context: object, request: Request) -> object:
        # context=None: one instance of each collaborator per request, whichever view's context asked.
        return recipe.build(lambda need: request.find_service(need, context=None))

    config.register_service_factory(factory, cls)
    config.action(None, lambda: _check_provided(config, recipe), order=AFTER_REGISTRATION)


def _check_provided(config: Configurator, recipe: Recipe[Any]) -> None:
    for name, need in recipe.needs.items():
        try:
            config.find_service_factory(need)
        except LookupError:
            raise WiringError(
                f"{recipe.target.__name__}({name}: {need.__name__}): nothing provides {need.__name__}; "
                "register an adapter in wiring.py or the service in its feature's includeme"
            ) from None

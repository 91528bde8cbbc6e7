"""Domain services built from what their constructors ask for, by name and annotation.

A constructor's annotations are its wiring: each parameter annotated with a port or a domain
service class is looked up by that class, and passed by name, so reordering a constructor can
never hand one collaborator to another's parameter. Plain values (a ``bool`` switch) are passed
explicitly as options. Anything else is a wiring error, raised when the recipe is made (at
application start), not on the first request that happens to need the service.

The web app looks collaborators up with ``request.find_service``; the unit tests' world looks
them up among its fakes. Both build with the same recipe.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")

Find = Callable[[type[Any]], object]
"""Gives the instance that provides a port or domain service class."""


class WiringError(Exception):
    """A service cannot be built from its constructor: a configuration mistake, found at start."""


@dataclass(frozen=True)
class Recipe(Generic[T]):
    """How to build one class: which collaborator each parameter needs, and the plain options."""

    target: type[T]
    needs: Mapping[str, type[Any]]
    options: Mapping[str, object]

    @classmethod
    def of(cls, target: type[T], **options: object) -> Recipe[T]:
        if getattr(target, "_is_protocol", False):
            raise WiringError(f"{target.__name__} is a port: register an implementation of it, not a recipe")
        parameters = _parameters(target)
        unknown = sorted(set(options) - set(parameters))
        if unknown:
            raise WiringError(f"{target.__name__} takes no parameter {', '.join(unknown)}")
        hints = _hints(target)
        needs = {
            name: _collaborator(target, parameter, hints.get(name))
            for name, parameter in parameters.items()
            if name not in options and not _left_to_default(parameter, hints.get(name))
        }
        return cls(target, needs, dict(options))

    def build(self, find: Find) -> T:
        return self.target(**{name: find(need) for name, need in self.needs.items()}, **self.options)


def build(cls: type[T], find: Find, **options: object) -> T:
    """An instance of ``cls`` with each collaborator found by its annotated class."""
    return Recipe.of(cls, **options).build(find)


def _parameters(target: type[Any]) -> dict[str, inspect.Parameter]:
    parameters = dict(inspect.signature(target.__init__).parameters)
    parameters.pop("self", None)
    for parameter in parameters.values():
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD, parameter.POSITIONAL_ONLY):
            raise WiringError(f"{target.__name__}({parameter}): name every collaborator as a parameter")
    return parameters


def _hints(target: type[Any]) -> dict[str, Any]:
    try:
        return typing.get_type_hints(target.__init__)
    except NameError as unresolved:
        raise WiringError(
            f"{target.__name__}'s constructor has an annotation that names nothing: {unresolved}"
        ) from None


def _is_plain_value(annotation: object) -> bool:
    return not isinstance(annotation, type) or annotation.__module__ == "builtins"


def _left_to_default(parameter: inspect.Parameter, annotation: object) -> bool:
    """A plain value with a default keeps it unless given as an option; a collaborator is always found."""
    return parameter.default is not parameter.empty and _is_plain_value(annotation)


def _collaborator(target: type[Any], parameter: inspect.Parameter, annotation: object) -> type[Any]:
    if annotation is None:
        raise WiringError(f"{target.__name__}({parameter.name}): annotate it with the port or service it needs")
    if _is_plain_value(annotation):
        raise WiringError(
            f"{target.__name__}({parameter.name}: {annotation}) is not a port or service: pass it as an option"
        )
    return typing.cast(type[Any], annotation)

"""Where an outage of a backing server becomes a domain error: at the adapter.

A store (PostgreSQL, Redis) is the one layer that knows which exceptions mean "the server is
out of reach"; the use cases and the API above it see only the domain's own "unavailable"
error, which the API maps to UNAVAILABLE like any other domain error. ``translate_outages``
puts that translation on every public coroutine method of an adapter class at once, so no
method can forget it.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from tollgate_kit.logs import get_logger

log = get_logger(__name__)

C = TypeVar("C", bound=type)


def translate_outages(
    failures: tuple[type[BaseException], ...], error: Callable[[], Exception]
) -> Callable[[C], C]:
    """Class decorator: each public ``async def`` of the class (its own or inherited) raises
    ``error()`` (chained to the cause, logged as ``store_unreachable``) where it would have
    raised one of ``failures``."""

    def decorate(cls: C) -> C:
        for name, member in inspect.getmembers(cls, inspect.iscoroutinefunction):
            if not name.startswith("_"):
                setattr(cls, name, _translating(member, failures, error, f"{cls.__name__}.{name}"))
        return cls

    return decorate


def _translating(
    method: Callable[..., Coroutine[Any, Any, Any]],
    failures: tuple[type[BaseException], ...],
    error: Callable[[], Exception],
    where: str,
) -> Callable[..., Coroutine[Any, Any, Any]]:
    @functools.wraps(method)
    async def translated(*args: Any, **kwargs: Any) -> Any:
        try:
            return await method(*args, **kwargs)
        except failures as err:
            log.warning("store_unreachable", store=where, error=type(err).__name__)
            raise error() from err

    return translated

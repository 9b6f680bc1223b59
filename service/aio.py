"""Objects that belong to one event loop: asyncio connections (database, Redis) can only be used on the loop
that opened them."""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class PerLoop(Generic[T]):
    """One `make()` per running event loop, closed with `close(obj)`.

    `reset()` (settings changed) retires every current object: each loop makes a new one at its next `get()`
    and closes its old one then. `close_current()` (the app's shutdown) closes the running loop's own."""

    def __init__(self, make: Callable[[], T], close: Callable[[T], Awaitable[None]]):
        self._make, self._close = make, close
        self._held: dict[asyncio.AbstractEventLoop, tuple[int, T]] = {}
        self._generation = 0

    async def get(self) -> T:
        loop = asyncio.get_running_loop()
        held = self._held.get(loop)
        if held is not None and held[0] == self._generation:
            return held[1]
        if held is not None:
            del self._held[loop]
            await self._close(held[1])
        obj = self._make()
        self._held[loop] = (self._generation, obj)
        return obj

    def reset(self) -> None:
        self._generation += 1

    async def close_current(self) -> None:
        held = self._held.pop(asyncio.get_running_loop(), None)
        if held is not None:
            await self._close(held[1])

"""What the API process keeps per event loop, and how it sets up its collector for serving."""
from __future__ import annotations

import asyncio
import gc

from fastapi.testclient import TestClient

from service.aio import PerLoop


def test_one_object_per_event_loop_remade_after_a_reset():
    closed: list[int] = []
    made = iter(range(100))

    async def close(obj: int) -> None:
        closed.append(obj)

    per_loop = PerLoop(lambda: next(made), close)

    async def twice() -> tuple[int, int]:
        return await per_loop.get(), await per_loop.get()

    first = asyncio.run(twice())
    assert first[0] == first[1]
    assert asyncio.run(twice())[0] != first[0]  # another loop, another object

    async def reset_between() -> tuple[int, int]:
        before = await per_loop.get()
        per_loop.reset()  # settings changed
        after = await per_loop.get()
        await per_loop.close_current()  # the app stops
        return before, after

    before, after = asyncio.run(reset_between())
    assert before != after and closed == [before, after]


def test_the_app_freezes_its_startup_objects_and_restores_the_collector_when_it_stops():
    from service.app import GC_THRESHOLDS, create_app

    default = gc.get_threshold()
    with TestClient(create_app()) as client:
        assert client.get("/healthz").status_code == 200
        assert gc.get_threshold() == GC_THRESHOLDS
        assert gc.get_freeze_count() > 10_000  # modules, schemas, models: not walked by every full collection
    assert gc.get_threshold() == default and gc.get_freeze_count() == 0

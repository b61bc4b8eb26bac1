"""SQLite writers of one process queue for their turn, in order, within the wait."""

import asyncio

import pytest
from sqlalchemy import create_engine
from sqlalchemy.exc import TimeoutError as PoolTimeout

from regulars.api.unit_of_work import WriterTurns


def test_writers_take_turns_in_the_order_they_came() -> None:
    turns = WriterTurns(create_engine("sqlite://"), wait=5)
    order: list[str] = []

    async def write(name: str, started: asyncio.Event | None = None) -> None:
        async with turns.turn():
            order.append(f"{name} starts")
            if started is not None:
                started.set()
            await asyncio.sleep(0.01)  # hold the turn while the others queue
            order.append(f"{name} ends")

    async def tills() -> None:
        started = asyncio.Event()
        first = asyncio.create_task(write("a", started))
        await started.wait()
        others = [asyncio.create_task(write(name)) for name in "bcd"]
        await asyncio.gather(first, *others)

    asyncio.run(tills())
    assert order == [f"{n} {e}" for n in "abcd" for e in ("starts", "ends")]


def test_a_writer_that_waits_too_long_is_refused_and_postgresql_writers_never_queue() -> None:
    turns = WriterTurns(create_engine("sqlite://"), wait=0.05)

    async def blocked() -> None:
        async with turns.turn():
            with pytest.raises(PoolTimeout):
                async with turns.turn():
                    pass

    asyncio.run(blocked())
    side_by_side = WriterTurns(create_engine("postgresql+psycopg://nobody@127.0.0.1/none"), 0.05)

    async def together() -> None:
        async with side_by_side.turn(), side_by_side.turn():
            pass

    asyncio.run(together())

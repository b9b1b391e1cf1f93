"""Background loops stop when asked, every time (issue 20), and within a bound even when something in them
does not cooperate.

The first test shows the race that hung the app's shutdown on Python 3.11, in the shape of the old dispatcher
loop: a poke (the wake event set) and a cancel in the same loop iteration, and `asyncio.wait_for` returns
the event's result instead of raising, so the loop goes on. The others drive `Periodic` through the same
race, many times, plus the ways a loop can still refuse to end.
"""

import asyncio
import contextlib
import logging
import sys

import pytest

from backend.core.background import Background, Periodic, shutdown, stop_all

ROUNDS = 200
# Far more than a cooperating loop needs to end (one loop iteration), far less than "forever" (the loops here
# would otherwise wait 3600 s): a liveness bound that a loaded CI machine cannot overrun, not a speed target.
BOUND_S = 10.0


async def settle() -> None:
    """Let freshly started tasks reach their first real wait."""
    for _ in range(5):
        await asyncio.sleep(0)


async def old_dispatcher_loop(wake: asyncio.Event) -> None:
    """Dispatcher._run before issue 20, with an empty round."""
    while True:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), 3600)
        wake.clear()
        await asyncio.sleep(0)


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="wait_for no longer loses the cancel from 3.12 on")
async def test_the_old_wait_for_loop_loses_a_cancel_that_lands_with_a_poke():
    lost = 0
    for _ in range(20):
        wake = asyncio.Event()
        task = asyncio.create_task(old_dispatcher_loop(wake))
        await settle()
        wake.set()
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=0.2)
        if not done:
            lost += 1
            task.cancel()  # a second cancel, with no poke beside it, is not lost
            with contextlib.suppress(asyncio.CancelledError):
                await task
    assert lost == 20  # every time: the race is deterministic, not a matter of luck


@pytest.mark.parametrize("order", ["poke, then cancel", "cancel, then poke"])
async def test_periodic_stops_when_the_cancel_lands_with_a_poke(order: str):
    for _ in range(ROUNDS):
        wake = asyncio.Event()
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            ticks += 1

        loop = Periodic("dispatcher-like", tick, 3600, wake=wake)
        loop.start()
        await settle()
        task = loop._task
        assert task is not None
        if order == "poke, then cancel":
            wake.set()
            task.cancel()
        else:
            task.cancel()
            wake.set()
        done, _ = await asyncio.wait({task}, timeout=BOUND_S)
        assert done, f"the loop went on after a cancel ({order})"
        assert task.cancelled()
        assert not loop.running


async def test_periodic_stops_when_poked_while_a_round_runs():
    wake = asyncio.Event()

    async def tick() -> None:
        await asyncio.sleep(0)

    loop = Periodic("busy", tick, 3600, wake=wake)
    loop.start()
    for _ in range(ROUNDS):
        wake.set()
        await asyncio.sleep(0)
    wake.set()
    assert await loop.stop(BOUND_S)
    assert not loop.running


async def test_periodic_stops_even_when_a_round_swallows_the_cancel():
    entered = asyncio.Event()

    async def stubborn_tick() -> None:
        entered.set()
        # What a careless library call in a round can do.
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(3600)

    loop = Periodic("stubborn", stubborn_tick, 0.001)
    loop.start()
    await entered.wait()
    assert await loop.stop(BOUND_S)
    assert not loop.running


async def test_stop_gives_up_after_its_deadline_and_names_the_task(caplog: pytest.LogCaptureFixture):
    wake = asyncio.Event()
    # The old loop under the new stop(): its cancel is lost, and stop() still returns.
    loop = Background("old-dispatcher", lambda: old_dispatcher_loop(wake))
    loop.start()
    await settle()
    wake.set()
    with caplog.at_level(logging.ERROR, logger="backend.core.background"):
        stopped = await loop.stop(0.1)
    if sys.version_info < (3, 12):
        assert not stopped
        assert "'old-dispatcher' did not stop" in caplog.text
        assert loop.running
        task = loop._task
        assert task is not None
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    else:
        assert stopped


async def test_a_failing_round_is_logged_and_the_next_one_runs(caplog: pytest.LogCaptureFixture):
    calls = 0
    third = asyncio.Event()

    async def flaky() -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("database restarting")
        if calls == 3:
            third.set()

    loop = Periodic("flaky", flaky, 0.001)
    with caplog.at_level(logging.ERROR, logger="backend.core.background"):
        loop.start()
        await asyncio.wait_for(third.wait(), BOUND_S)
        await loop.stop()
    health = loop.health()
    assert health.name == "flaky" and not health.running
    assert health.failures == 1 and health.rounds >= 3
    assert health.last_error == "RuntimeError('database restarting')"
    assert "flaky: round failed; retrying next round" in caplog.text


async def test_a_poke_runs_a_round_at_once_and_the_interval_runs_the_rest():
    rounds: list[str] = []
    wake = asyncio.Event()
    ran = asyncio.Event()

    async def tick() -> None:
        rounds.append("round")
        ran.set()

    poked = Periodic("poked", tick, 3600, wake=wake)
    poked.start()
    await settle()
    assert rounds == []
    wake.set()
    await asyncio.wait_for(ran.wait(), BOUND_S)
    assert rounds == ["round"] and not wake.is_set()
    await poked.stop()

    ran.clear()
    timed = Periodic("timed", tick, 0.01)
    timed.start()
    await asyncio.wait_for(ran.wait(), BOUND_S)
    await timed.stop()
    assert len(rounds) >= 2


async def test_a_crashed_background_task_is_reported(caplog: pytest.LogCaptureFixture):
    async def crash() -> None:
        raise ValueError("bug")

    loop = Background("crashing", crash)
    with caplog.at_level(logging.ERROR, logger="backend.core.background"):
        loop.start()
        await settle()
    assert not loop.running
    assert loop.health().last_error == "ValueError('bug')"
    assert "'crashing' crashed" in caplog.text
    assert await loop.stop()


async def test_stop_all_stops_every_loop_within_one_deadline():
    loops = [Periodic(f"loop-{i}", asyncio.sleep, 3600) for i in range(5)]
    for loop in loops:
        loop.start()
    await settle()
    assert await stop_all(loops, BOUND_S)
    assert not any(loop.running for loop in loops)


async def test_shutdown_runs_every_step_in_order_past_a_hanging_and_a_failing_one(
    caplog: pytest.LogCaptureFixture,
):
    ran: list[str] = []

    async def hang() -> None:
        ran.append("hang")
        await asyncio.Event().wait()

    async def fail() -> None:
        ran.append("fail")
        raise OSError("socket gone")

    async def close() -> None:
        ran.append("close")

    loop = asyncio.get_running_loop()
    started = loop.time()
    with caplog.at_level(logging.ERROR, logger="backend.core.background"):
        failed = await shutdown([("hanging", hang), ("failing", fail), ("database", close)], 0.2)
    # The hanging step used the deadline up; the next ones still get a short try each.
    assert loop.time() - started < 0.2 + 2 * 0.5 + BOUND_S
    assert ran == ["hang", "fail", "close"]
    assert failed == ["hanging", "failing"]
    assert "shutdown: hanging did not finish" in caplog.text
    assert "shutdown: failing failed" in caplog.text


async def test_a_round_that_turns_the_cancel_into_an_error_stops_the_loop_without_a_failure(
    caplog: pytest.LogCaptureFixture,
):
    entered = asyncio.Event()

    async def converting_tick() -> None:
        entered.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            raise ConnectionError("connection closed while cancelled") from None

    loop = Periodic("converting", converting_tick, 0.001)
    loop.start()
    await entered.wait()
    with caplog.at_level(logging.ERROR, logger="backend.core.background"):
        assert await loop.stop(BOUND_S)
    assert loop.health().failures == 0
    assert "round failed" not in caplog.text

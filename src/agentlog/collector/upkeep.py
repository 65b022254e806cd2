"""A lake's upkeep in a collector: every tick, claim the pass if one is due, and run it.

Every collector on a lake runs this; the lake's row (``agentlog.store.upkeep``) decides which one runs a
given pass: the one whose claim commits first. A pass runs on a thread of its own, in a DuckDB instance of
its own (the lake attached again), never on the writer's thread or instance, so ingest goes on meanwhile:
merging files does not conflict with commits of new rows, a table's flush that does is left for the next
pass, and a step that conflicts with a roll-up compaction or a retention delete is tried again. In the
writer's instance a merge held the writer's commits back for most of its length (a collector's
acknowledgements stopped for the second a pass took, tests/lake/test_upkeep.py); in an instance of its
own they go on.
Time and sleep are injected so tests need not wait.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial

from agentlog.errors import Conflict
from agentlog.store import Database, upkeep
from agentlog.store.upkeep import Defaults, Upkeep

log = logging.getLogger(__name__)

UPKEEP_THREADS = 1
"""DuckDB threads a pass may use: it waits longer, ingest does not (a pass over 100 files is a second)."""

TICK_SECONDS = 60.0
"""How often a collector looks whether a pass is due: passes are minutes apart, a minute late is fine."""


class LakeUpkeep:
    """Runs due passes until cancelled, and a pass when asked (``run_now``); one at a time per process."""

    def __init__(
        self,
        database: Database,
        defaults: Defaults,
        *,
        memory_limit: str | None = None,
        by: str | None = None,
        clock: Callable[[], int] = time.time_ns,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        tick_seconds: float = TICK_SECONDS,
    ) -> None:
        self.defaults = defaults
        self._by = by or upkeep.process_name()
        self._clock = clock
        self._sleep = sleep
        self._tick = tick_seconds
        # The same lake, in an instance of its own (``memory_limit``: its own cap, as the server's); one per
        # LakeUpkeep, as DuckDB refuses to configure an instance again once it is confined.
        self._database = Database.open(database.path, memory_limit=memory_limit, instance=f"upkeep {id(self)}")
        self._cursor = self._database.cursor()
        # One thread for the pass (DuckDB's default: one per core): a merge is CPU-bound, and the writer's
        # commits need a core too.
        self._cursor.execute(f"SET threads = {UPKEEP_THREADS}")
        # One thread: passes of this process run one after another, and never on the writer's thread.
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="agentlog-upkeep")

    async def run_forever(self) -> None:
        while True:
            try:
                await self.run_due()
            except Exception:  # the catalog away, say: the next tick tries again
                log.exception("lake upkeep could not run; trying again next tick")
            await self._sleep(self._tick)

    async def run_due(self) -> Upkeep | None:
        """Run a pass if one is due and this process claims it; the lake's row after it, else None."""
        return await self._run(force=False)

    async def run_now(self) -> Upkeep:
        """Run a pass now, due or not (after any this process is running); Conflict when another process's
        claim committed first."""
        done = await self._run(force=True)
        if done is None:
            raise Conflict("another agentlog process started a lake upkeep pass at the same moment; try again")
        return done

    async def _run(self, *, force: bool) -> Upkeep | None:
        run = partial(upkeep.run, self._cursor, self._clock, self.defaults, self._by, force=force)
        return await asyncio.get_running_loop().run_in_executor(self._thread, run)

    def close(self) -> None:
        """Stop: a pass under way is interrupted (DuckLake rolls its step back; the pass is recorded as
        failed), then the thread and the cursor end. Call after cancelling ``run_forever``."""
        self._cursor.interrupt()
        self._thread.shutdown(wait=True, cancel_futures=True)
        self._cursor.close()
        self._database.close()

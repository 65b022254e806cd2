"""bench/ingest.py's OTLP/gRPC load at a steady rate, in a process of its own, recording every acknowledgement.

The read and retention benchmarks run it beside the server they measure, so
that the load's client work does not share their event loop or GIL::

    .venv/bin/python bench/steady_load.py --port 4317 --rate 5000 --seconds 30 --output /tmp/acks.json
    .venv/bin/python bench/steady_load.py --port 4317 --rate 0 --seconds 10 --output /tmp/max.json  # flat out

The requests are bench/ingest.py's (``build_template``: 512 spans, 32 agent
runs of 16 spans, ~580 kB), numbered from ``--first-request`` so that every
span id is new to the store. ``--rate`` spans/s is open-loop: request ``k``
is due at ``start + k * 512 / rate`` whatever happened to the ones before, as
agents keep producing spans while a server stalls, with at most
``--concurrency`` in flight (the client-side queue beyond that shows as
lateness). ``--rate 0`` keeps ``--concurrency`` requests in flight, as
bench/ingest.py does: that is the maximum rate.

Times are ``time.monotonic()`` (CLOCK_MONOTONIC, the same clock in every
process), so the parent can line acknowledgements up with what it did.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import grpc.aio

import ingest

REFUSED_PAUSE = 0.05
"""Seconds before retrying a request the server refused (UNAVAILABLE: intake full), as bench/ingest.py."""


@dataclass(frozen=True)
class Ack:
    due: float
    """When the request was due (open loop); equals ``sent`` at --rate 0."""
    sent: float
    """First attempt."""
    acked: float
    refused: int


# --------------------------------------------------------------------------- the load process


async def _drive(args: argparse.Namespace, template: ingest.Template, stop: asyncio.Event) -> dict[str, Any]:
    acks: list[Ack] = []
    errors: list[str] = []
    interval = template.spans / args.rate if args.rate > 0 else 0.0
    slots = asyncio.Semaphore(args.concurrency)
    options = [("grpc.max_send_message_length", 64 * ingest.MiB), ("grpc.max_receive_message_length", 64 * ingest.MiB)]
    async with grpc.aio.insecure_channel(f"127.0.0.1:{args.port}", options=options) as channel:
        await asyncio.wait_for(channel.channel_ready(), timeout=30)
        export = channel.unary_unary(ingest.EXPORT)  # raw bytes in and out
        start = time.monotonic()
        deadline = start + args.seconds
        print(f"ready {start:.6f}", flush=True)

        async def send(n: int, due: float) -> None:
            body, sent, refused = template.request(n), time.monotonic(), 0
            try:
                while True:
                    try:
                        await export(body, timeout=120)
                    except grpc.aio.AioRpcError as error:
                        if error.code() == grpc.StatusCode.UNAVAILABLE and not stop.is_set():
                            refused += 1
                            await asyncio.sleep(REFUSED_PAUSE)
                            continue
                        errors.append(f"{error.code().name}: {error.details()}")
                        return
                    acks.append(Ack(due, sent, time.monotonic(), refused))
                    return
            finally:
                slots.release()

        tasks = set()
        n = args.first_request
        while not stop.is_set() and time.monotonic() < deadline:
            due = start + (n - args.first_request) * interval
            if interval and (wait := due - time.monotonic()) > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=min(wait, deadline - time.monotonic()))
                continue
            await slots.acquire()
            task = asyncio.create_task(send(n, due if interval else time.monotonic()))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            n += 1
        stopped = time.monotonic()
        if tasks:
            await asyncio.wait(tasks, timeout=120)
    return {
        "start": start,
        "stopped": stopped,
        "rate": args.rate,
        "spans_per_request": template.spans,
        "first_request": args.first_request,
        "next_request": n,
        "acks": [[a.due, a.sent, a.acked, a.refused] for a in sorted(acks, key=lambda a: a.acked)],
        "errors": errors,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True, help="the server's OTLP/gRPC port")
    parser.add_argument("--rate", type=float, default=0.0, help="spans/s; 0: as fast as --concurrency allows")
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight at most (default 8)")
    parser.add_argument("--seconds", type=float, default=60.0, help="stop after this long (or on SIGTERM)")
    parser.add_argument("--first-request", type=int, default=1, help="number of the first request (its ids)")
    parser.add_argument("--spans-per-request", type=int, default=512)
    parser.add_argument("--spans-per-trace", type=int, default=16)
    parser.add_argument("--output", required=True, help="write the acknowledgements here as JSON")
    args = parser.parse_args(argv)
    template = ingest.build_template(args.spans_per_request, args.spans_per_trace)

    async def run() -> dict[str, Any]:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        return await _drive(args, template, stop)

    result = asyncio.run(run())
    Path(args.output).write_text(json.dumps(result))
    print(f"done {len(result['acks'])} acks", flush=True)
    return 0


# --------------------------------------------------------------------------- the parent's side


class SteadyLoad:
    """This script in a subprocess; ``stop()`` ends it and returns what it recorded."""

    def __init__(
        self, port: int, rate: float, output: Path, *, first_request: int, seconds: float = 3600.0, concurrency: int = 8
    ) -> None:
        self.output = output
        output.unlink(missing_ok=True)
        self.process = subprocess.Popen(
            [
                sys.executable, __file__, "--port", str(port), "--rate", str(rate), "--seconds", str(seconds),
                "--first-request", str(first_request), "--concurrency", str(concurrency), "--output", str(output),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        match = re.match(r"ready (\S+)", line)
        if not match:
            self.process.kill()
            raise RuntimeError(f"the load process did not start: {line!r}")
        self.started = float(match.group(1))

    def stop(self, timeout: float = 180.0) -> LoadRecord:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=timeout)
        return LoadRecord(json.loads(self.output.read_text()))

    def wait(self, timeout: float = 3600.0) -> LoadRecord:
        self.process.wait(timeout=timeout)
        return LoadRecord(json.loads(self.output.read_text()))


class LoadRecord:
    """The acknowledgements of one load process, and figures over windows of time."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw
        self.spans_per_request: int = raw["spans_per_request"]
        self.acks = [Ack(*row) for row in raw["acks"]]
        self.errors: list[str] = raw["errors"]
        self.next_request: int = raw["next_request"]
        self.start: float = raw["start"]
        self.stopped: float = raw["stopped"]

    def rate(self, begin: float, end: float) -> float:
        """Committed spans/s over [begin, end)."""
        count = sum(1 for ack in self.acks if begin <= ack.acked < end)
        return count * self.spans_per_request / (end - begin) if end > begin else float("nan")

    def window(self, begin: float, end: float, *, overlapping: bool = False) -> dict[str, Any]:
        """Over [begin, end): committed spans/s, the longest time without any acknowledgement, and ack latency
        (from the first send, and from when the request was due).

        ``overlapping``: gaps and requests that overlap the window count (what an event in the window did to
        ingest, including a stall that began before it or ended after it); else only those wholly inside it
        (a quiet baseline, not charged with the stall of an event that followed it)."""
        times = [self.start] + [ack.acked for ack in self.acks] + [max(self.stopped, end)]
        spans = list(itertools.pairwise(times))
        if overlapping:
            gaps = [b - a for a, b in spans if b > begin and a < end]
            inside = [ack for ack in self.acks if ack.acked >= begin and ack.sent < end]
        else:
            gaps = [b - a for a, b in spans if a >= begin and b < end]
            inside = [ack for ack in self.acks if ack.sent >= begin and ack.acked < end]
        sent_latency = sorted(ack.acked - ack.sent for ack in inside)
        due_latency = sorted(ack.acked - ack.due for ack in inside)
        return {
            "seconds": end - begin,
            "spans_per_s": self.rate(begin, end),
            "requests": len(inside),
            "max_gap_s": max(gaps, default=float("nan")),
            "ack_latency_p50_s": ingest.percentile(sent_latency, 50),
            "ack_latency_p99_s": ingest.percentile(sent_latency, 99),
            "ack_latency_max_s": max(sent_latency, default=float("nan")),
            "due_latency_max_s": max(due_latency, default=float("nan")),
            "refused": sum(ack.refused for ack in inside),
        }


if __name__ == "__main__":
    sys.exit(main())

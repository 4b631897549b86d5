"""Engine benchmark: submit_sm/s through `SmppPool` to the SMSC simulator in another process.

    .venv/bin/python -m benchmarks.engine_bench [--messages 200000] [--aiosmpplib-messages 5000]

For 1 and 4 sessions x windows 1, 10, 100 it pushes `--messages` single-part messages from an
in-memory list through one pool (with `post`, the callback entry point) and reports submit_sm/s
(wall clock, from the first submit to the last outcome), p50/p99 latency from writing a
submit_sm to reading its resp, and the CPU seconds of the client (this process) and of the
simulator, which runs as `python -m dispatcher smsc-sim` with its fastest settings (no
receipts, no recording) on 127.0.0.1.

Against the same simulator it then drives aiosmpplib 0.7.4's ESME with its default correlator
the way specs/smpp-anchors.md (appendix) did: N SubmitSm queued in a SimpleBroker before
start(), timed until N responses or errors came back, bounded by a smaller count and a timeout
because its correlator is quadratic.

The figures are printed and written to benchmarks/RESULTS.md under "## Engine" (the rest of the
file is left as it is).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import os
import platform
import sys
import time
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from benchmarks.support import (
    RESULTS,
    ROOT,
    percentiles,
    process_cpu_seconds,
    simulator_process,
    write_results_section,
)
from dispatcher.smpp import (
    AccountSettings,
    EngineObserver,
    PoolQueueFull,
    SessionInfo,
    SmppPool,
    SubmitOutcome,
    SubmitRequest,
)
from pdu.segmentation import split_text

SYSTEM_ID = "bench"
PASSWORD = "bench"  # aiosmpplib refuses passwords over 8 characters
TEXT = "Benchmark message 0123456789"
SESSIONS = (1, 4)
WINDOWS = (1, 10, 100)


@dataclass
class Result:
    engine: str
    sessions: int
    window: int | str
    messages: int
    completed: int
    seconds: float
    cpu_seconds: float
    p50_ms: float
    p99_ms: float
    note: str = ""
    sim_cpu_seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.completed / self.seconds if self.seconds > 0 else 0.0


class LatencyObserver(EngineObserver):
    def __init__(self) -> None:
        self.latencies = array("d")

    def submit_response(self, info: SessionInfo, command_status: int, latency: float) -> None:
        self.latencies.append(latency)


# ---- the simulator process ------------------------------------------------------------------


# ---- our engine -----------------------------------------------------------------------------


async def run_engine(port: int, sessions: int, window: int, messages: int) -> Result:
    settings = AccountSettings(
        name="bench",
        system_id=SYSTEM_ID,
        password=PASSWORD,
        hosts=[f"127.0.0.1:{port}"],
        binds=["tx"] * sessions,
        window=window,
        response_timeout=60.0,
        bind_timeout=10.0,
        max_queue=20_000,
    )
    observer = LatencyObserver()
    pool = SmppPool(settings, observer=observer)
    parts = split_text(TEXT)
    requests = [
        SubmitRequest(i, "Bench", f"7903{i % 10_000_000:07d}", parts) for i in range(messages)
    ]
    # The input list stands for the outbox: the daemon never holds 200,000 requests at once,
    # so keep the collector from walking them over and over while the engine runs.
    gc.collect()
    gc.freeze()
    loop = asyncio.get_running_loop()
    finished: asyncio.Future[None] = loop.create_future()
    counts = {"done": 0, "accepted": 0}

    def on_outcome(outcome: SubmitOutcome) -> None:
        counts["done"] += 1
        if outcome.kind == "accepted":
            counts["accepted"] += 1
        if counts["done"] == messages and not finished.done():
            finished.set_result(None)

    await pool.start()
    try:
        deadline = loop.time() + 10
        while pool.bound_sessions < sessions:
            if loop.time() > deadline:
                raise RuntimeError(f"only {pool.bound_sessions} of {sessions} sessions bound")
            await asyncio.sleep(0.01)
        cpu = time.process_time()
        started = time.perf_counter()
        post = pool.post
        for item in requests:
            try:
                post(item, on_outcome)
            except PoolQueueFull:
                await pool.wait_for_room()
                post(item, on_outcome)
        await finished
        seconds = time.perf_counter() - started
        cpu_seconds = time.process_time() - cpu
    finally:
        await pool.close(timeout=10.0)
        gc.unfreeze()
    p50, p99 = percentiles(observer.latencies)
    note = "" if counts["accepted"] == messages else f"{messages - counts['accepted']} not accepted"
    return Result(
        "smpp-dispatcher", sessions, window, messages, counts["accepted"], seconds,
        cpu_seconds, p50, p99, note,
    )  # fmt: skip


# ---- aiosmpplib 0.7.4 -----------------------------------------------------------------------


async def run_aiosmpplib(port: int, messages: int, timeout: float) -> Result:
    from aiosmpplib import AbstractHook, PhoneNumber, SubmitSm, SubmitSmResp
    from aiosmpplib.broker import SimpleBroker
    from aiosmpplib.esme import ESME

    loop = asyncio.get_running_loop()
    finished: asyncio.Future[None] = loop.create_future()
    sent_at: dict[str, float] = {}
    latencies = array("d")
    counts = {"responses": 0, "accepted": 0, "errors": 0}
    first_send: list[float] = []

    def count(kind: str) -> None:
        counts[kind] += 1
        if counts["responses"] + counts["errors"] >= messages and not finished.done():
            finished.set_result(None)

    class Hook(AbstractHook):  # type: ignore[misc]  # aiosmpplib ships no type information
        async def sending(self, smpp_message: Any, pdu: bytes, client_id: str) -> None:
            if isinstance(smpp_message, SubmitSm):
                now = time.perf_counter()
                if not first_send:
                    first_send.append(now)
                sent_at[smpp_message.log_id] = now

        async def received(self, smpp_message: Any, pdu: bytes, client_id: str) -> None:
            if isinstance(smpp_message, SubmitSmResp):
                started = sent_at.pop(smpp_message.log_id, None)
                if started is not None:
                    latencies.append(time.perf_counter() - started)
                if smpp_message.command_status.value == 0:
                    counts["accepted"] += 1
                count("responses")

        async def send_error(self, smpp_message: Any, error: Exception, client_id: str) -> None:
            if error is not None:
                count("errors")

    broker = SimpleBroker(maxsize=messages + 10)
    for i in range(messages):
        await broker.enqueue(
            SubmitSm(
                short_message=TEXT,
                source=PhoneNumber("Bench"),
                destination=PhoneNumber(f"7903{i:07d}"),
                log_id=str(i),
            )
        )
    esme = ESME(
        "127.0.0.1", port, SYSTEM_ID, PASSWORD, broker=broker, hook=Hook(),
        log_level="WARNING", log_handler=logging.NullHandler(),
    )  # fmt: skip
    cpu = time.process_time()
    wall = time.perf_counter()
    task = loop.create_task(esme.start())
    note = ""
    try:
        await asyncio.wait_for(asyncio.shield(finished), timeout)
    except TimeoutError:
        note = f"stopped after {timeout:g} s"
    ended = time.perf_counter()
    cpu_seconds = time.process_time() - cpu
    with contextlib.suppress(Exception):
        await asyncio.wait_for(esme.stop(), 5.0)
    task.cancel()
    with contextlib.suppress(BaseException):
        await task
    if counts["errors"]:
        note = (note + "; " if note else "") + f"{counts['errors']} send_error (false timeouts)"
    p50, p99 = percentiles(latencies)
    seconds = ended - (first_send[0] if first_send else wall)
    return Result(
        "aiosmpplib 0.7.4", 1, "none", messages, counts["accepted"], seconds, cpu_seconds,
        p50, p99, note,
    )  # fmt: skip


# ---- report ---------------------------------------------------------------------------------


def table(results: list[Result]) -> str:
    lines = [
        "| engine | sessions | window | messages | accepted | submit_sm/s | p50 ms | p99 ms "
        "| client CPU s | client CPU µs/msg | simulator CPU µs/msg | note |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        done = max(r.completed, 1)
        lines.append(
            f"| {r.engine} | {r.sessions} | {r.window} | {r.messages:,} | {r.completed:,} "
            f"| {r.rate:,.0f} | {r.p50_ms:.2f} | {r.p99_ms:.2f} | {r.cpu_seconds:.2f} "
            f"| {r.cpu_seconds / done * 1e6:.1f} | {r.sim_cpu_seconds / done * 1e6:.1f} "
            f"| {r.note} |"
        )
    return "\n".join(lines)


def section(results: list[Result], command: str) -> str:
    ours = [r for r in results if r.engine == "smpp-dispatcher"]
    theirs = [r for r in results if r.engine != "smpp-dispatcher"]
    best4 = max((r.rate for r in ours if r.sessions == 4), default=0.0)
    summary = [f"- Best with 4 sessions: {best4:,.0f} submit_sm/s (aim: 30,000)."]
    if theirs and theirs[0].rate > 0:
        summary.append(
            f"- Against aiosmpplib 0.7.4 (default correlator): {best4 / theirs[0].rate:,.0f}x "
            "(aim: 10x)."
        )
    cpu_us = min((r.cpu_seconds / max(r.completed, 1) * 1e6 for r in ours
                  if isinstance(r.window, int) and r.window >= 10), default=0.0)
    summary += [
        "- The spread between runs on this shared machine is wide: with unchanged code the "
        "4 x 100 case has measured from about half to the full figure above, following the "
        "other jobs' load. The stable figure is the client CPU per message "
        f"({cpu_us:.0f} µs at windows of 10 and more): one free core carries about "
        f"{1e6 / max(cpu_us, 1):,.0f}/s.",
        "- Most of the aiosmpplib gap is its default correlator (quadratic, "
        "specs/smpp-anchors.md §1.6), which the aim names. With an O(1) correlator the anchors "
        "measured its engine at about 30,000 msg/s on a machine about 2.7x faster than this "
        "one (see the Codec section): engine for engine the gain is nearer 3x (not measured "
        "here).",
        "- The engine's modules (dispatcher/smpp window, job, session and pool) and the "
        "simulator's session are compiled with mypyc (mypyc-modules.txt). Interpreted, the "
        "same code measured 46,818 submit_sm/s with 4 sessions x window 100 and 20 µs of "
        "client CPU per message at windows of 10 and more.",
    ]
    return (
        "## Engine\n\n"
        f"Command: `{command}`\n\n"
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs shared with other work, "
        f"Python {platform.python_version()}, uvloop; simulator in its own process "
        "(`smsc-sim --no-receipts --no-record`) on 127.0.0.1. submit_sm/s is accepted "
        "messages over the wall time from the first submit to the last outcome; latency is "
        "from writing a submit_sm to reading its resp; client CPU is the benchmark process "
        "(engine + producer loop), simulator CPU the simulator process over the same run "
        "(bind and close included). The input list is built before the clock starts and "
        "frozen out of the garbage collector's sight (`gc.freeze()`): it stands for the "
        "outbox, which the daemon never holds in memory.\n\n"
        f"{table(results)}\n\n" + "\n".join(summary) + "\n"
    )


async def run_all(args: argparse.Namespace, port: int, sim_pid: int) -> list[Result]:
    runs: list[tuple[str, int, int]] = [("ours", s, w) for s in SESSIONS for w in WINDOWS]
    if args.aiosmpplib_messages > 0:
        runs.append(("aiosmpplib", 1, 0))
    results: list[Result] = []
    for engine, sessions, window in runs:
        sim_cpu = process_cpu_seconds(sim_pid)
        if engine == "ours":
            result = await run_engine(port, sessions, window, args.messages)
        else:
            result = await run_aiosmpplib(
                port, args.aiosmpplib_messages, args.aiosmpplib_timeout
            )
        result.sim_cpu_seconds = process_cpu_seconds(sim_pid) - sim_cpu
        print(table([result]).splitlines()[-1], flush=True)
        results.append(result)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--aiosmpplib-messages", type=int, default=5_000)
    parser.add_argument("--aiosmpplib-timeout", type=float, default=120.0, help="seconds")
    parser.add_argument("--no-write", action="store_true", help="do not update RESULTS.md")
    args = parser.parse_args(argv)
    command = ".venv/bin/python -m benchmarks.engine_bench " + " ".join(
        argv if argv is not None else sys.argv[1:]
    )
    import structlog
    import uvloop

    # the engine logs per session event, never per message; keep the table readable
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    with simulator_process(SYSTEM_ID, PASSWORD, "--no-receipts", "--no-record") as (
        port, sim_pid
    ):
        print(table([]), flush=True)
        results = uvloop.run(run_all(args, port, sim_pid))
    print()
    print(table(results))
    if not args.no_write:
        write_results_section("Engine", section(results, command.strip()))
        print(f"\nwritten to {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""UI latency of the TUI while experiments saturate both cores (headless, Textual Pilot).

Starts ``--runs`` live runs of a CPU-heavy built-in experiment (default: two runs of
``mlp-collapse.norms`` with many networks, one worker thread each, numba ``nogil``), then,
while they stream frames into their tabs, types characters into an Input of the active
run tab and measures for each key press the delay until the screen update that shows
it (the first compositor update after the key whose Input holds the new text). A probe
coroutine measures event-loop lag (how late a 10 ms sleep wakes up). Prints p50/p95/max.
``--busy N`` also keeps N other CPU-bound processes running (at normal priority) for the
whole measurement: the machine loaded beyond the runs, as when a build or a notebook runs
beside the app.

    python benchmarks/ui_latency.py [--keys 200] [--runs 2] [--networks 400000] [--busy 1]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time

from textual import events
from textual.widgets import Input

from matexplore.plugins import load_registry
from matexplore.tui.app import MatexploreApp
from matexplore.tui.runview import RunView

POLLS: list[float] = []
_poll = RunView._poll


def _timed_poll(self: RunView) -> None:
    t = time.perf_counter()
    _poll(self)
    POLLS.append(time.perf_counter() - t)


RunView._poll = _timed_poll  # type: ignore[method-assign]


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


def report(name: str, values_s: list[float]) -> str:
    ms = [v * 1000 for v in values_s]
    if not ms:
        return f"{name:<28} n=0"
    return (f"{name:<28} n={len(ms):<5} p50={pct(ms, .5):7.2f} ms  p95={pct(ms, .95):7.2f} ms  "
            f"max={max(ms):7.2f} ms  mean={statistics.fmean(ms):6.2f} ms")


async def measure(args: argparse.Namespace) -> None:
    import tempfile
    from pathlib import Path

    registry = load_registry()
    entry = registry.get(args.experiment)
    tmp = Path(tempfile.mkdtemp(prefix="mx-bench-"))
    app = MatexploreApp(registry=registry, session_dirs=[tmp])
    displays: list[tuple[float, str]] = []
    probe_box: list[Input] = []
    original = app._display

    def display(screen, renderable):  # timestamp every screen update with the probe's text
        if renderable is not None and probe_box:
            displays.append((time.perf_counter(), probe_box[0].value))
        original(screen, renderable)

    app._display = display  # type: ignore[method-assign]
    async with app.run_test(size=(100, 32)) as pilot:
        views = []
        for _ in range(max(1, args.runs)):  # --runs 0: an idle baseline, same screen
            view = await app.main.open_experiment(entry)
            form = view.query_one("ParamForm")
            form.set_values({k: v for k, v in args.params.items() if k in form.specs})
            await pilot.pause()
            views.append(view)
        views = views[-1:] if args.runs == 0 else views
        for view in views[: args.runs]:
            assert view.start_run(), "the run was refused"
        # wait until every run streams (numba compiled / loaded from cache)
        t_wait = time.perf_counter()
        while args.runs and not all(v.state.step for v in views) and time.perf_counter() - t_wait < 120:
            await asyncio.sleep(0.05)
        box = views[-1].query_one("#session-name", Input)
        box.focus()
        probe_box.append(box)
        await pilot.pause()

        lags: list[float] = []
        stop = asyncio.Event()

        async def lag_probe() -> None:
            while not stop.is_set():
                t = time.perf_counter()
                await asyncio.sleep(0.01)
                lags.append(time.perf_counter() - t - 0.01)

        probe = asyncio.create_task(lag_probe())
        POLLS.clear()
        delays: list[float] = []
        cpu0 = time.process_time()
        wall0 = time.perf_counter()
        for i in range(args.keys):
            if box.value and len(box.value) > 40:
                box.value = ""
                await asyncio.sleep(0.05)
            expected = box.value + "abcdefghij"[i % 10]
            t0 = time.perf_counter()
            key = events.Key(expected[-1], expected[-1])
            key.set_sender(app)
            app._driver.send_message(key)  # what a terminal driver does for a key press
            while True:
                hit = next((t for t, v in displays if t >= t0 and v == expected), None)
                if hit is not None or time.perf_counter() - t0 > 5:
                    break
                await asyncio.sleep(0.0005)
            delays.append((hit or time.perf_counter()) - t0)
            displays.clear()
            await asyncio.sleep(args.gap)
        wall = time.perf_counter() - wall0
        cpu = time.process_time() - cpu0
        polls = list(POLLS)
        stop.set()
        await probe
        running = [v.status for v in views]
        for v in views:
            v.cancel()
        for v in views:
            if v.source is not None:
                v.source.done.wait(5)
    steps = [v.state.step for v in views]
    print(f"experiment {args.experiment} {args.params}, {args.runs} live run(s) "
          f"(status during measurement: {running}; steps reached {steps})")
    print(f"process CPU during measurement: {cpu / wall:.2f} cores busy of 2")
    print(report("key -> screen update", delays))
    print(report("event-loop lag (10 ms tick)", lags))
    print(report("one poll of a run's buffer", polls))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--experiment", default="mlp-collapse.norms")
    p.add_argument("--networks", type=int, default=3000000)
    p.add_argument("--runs", type=int, default=2)
    p.add_argument("--keys", type=int, default=200)
    p.add_argument("--gap", type=float, default=0.05, help="seconds between key presses")
    p.add_argument("--busy", type=int, default=0,
                   help="other CPU-bound processes to run meanwhile")
    args = p.parse_args()
    args.params = {"networks": args.networks, "depth": 100, "seed": 1} \
        if args.experiment == "mlp-collapse.norms" else {}
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
            for _ in range(args.busy)]
    try:
        asyncio.run(measure(args))
    finally:
        for proc in busy:
            proc.kill()
            proc.wait()
    if busy:
        print(f"(with {len(busy)} other CPU-bound process(es) running throughout)")


if __name__ == "__main__":
    main()

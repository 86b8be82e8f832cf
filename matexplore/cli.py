"""The ``matexplore`` command: the TUI, and every TUI action as a scriptable subcommand.

Exit codes: 0 success; 1 the run failed (or rerun results differ); 2 bad usage, bad
parameters, unknown experiment, unreadable session file, ``--record`` file exists; 130
cancelled (Ctrl-C / SIGTERM). Errors are one sentence on stderr; ``--debug`` adds the
traceback. Global options (``--plugin-dir``, ``--debug``, ``--sessions``) work before and
after the subcommand.

While a run is going, the first SIGINT/SIGTERM cancels it and the second is a reminder:
both wait for the partial result, print it and end the session ``cancelled``. A third
ends the session ``cancelled`` at once and exits 130 without waiting for the experiment.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .audit import UnknownClaim
from .params import ParamError, resolve_params
from .plugins import Registry, UnknownExperiment, get_registry, load_registry, set_registry
from .session import SessionError, default_session_dir, read_session

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_CANCELLED = 0, 1, 2, 130


class UsageError(Exception):
    """A user mistake: printed as one sentence, exit code 2."""


GLOBAL_OPTIONS = {"plugin_dir": [], "debug": False, "sessions": []}  # dest → default


def _global_options(sub: bool) -> argparse.ArgumentParser:
    """The options accepted before and after the subcommand. After it they are stored
    under ``sub_<dest>`` (absent unless given) and merged by :func:`_merge_globals`, so a
    subcommand never overwrites what was given before it."""
    def opt(dest: str) -> dict[str, Any]:
        return {"dest": f"sub_{dest}", "default": argparse.SUPPRESS} if sub else \
            {"dest": dest, "default": GLOBAL_OPTIONS[dest]}

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--plugin-dir", action="append", metavar="DIR", **opt("plugin_dir"),
                        help="also load plugins from DIR (repeatable; see MATEXPLORE_PLUGIN_PATH)")
    common.add_argument("--debug", action="store_true", **opt("debug"),
                        help="show tracebacks of failures")
    common.add_argument("--sessions", action="append", metavar="DIR", **opt("sessions"),
                        help="extra session directory for the TUI's sessions screen")
    return common


def _merge_globals(args: argparse.Namespace) -> None:
    for dest in GLOBAL_OPTIONS:
        if hasattr(args, f"sub_{dest}"):
            late = getattr(args, f"sub_{dest}")
            early = getattr(args, dest)
            setattr(args, dest, early + late if isinstance(early, list) else early or late)
            delattr(args, f"sub_{dest}")


def _parser() -> argparse.ArgumentParser:
    common = _global_options(sub=True)
    p = argparse.ArgumentParser(prog="matexplore", parents=[_global_options(sub=False)],
                                description="Explore the theory of random neural networks: "
                                "theory beside simulation, live.")
    p.add_argument("--version", action="store_true", help="print the version and exit")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    s = sub.add_parser("list", parents=[common], help="list plugins and their experiments")
    s.add_argument("--json", action="store_true", help="print JSON")

    s = sub.add_parser("describe", parents=[common], help="show an experiment's parameters")
    s.add_argument("experiment")
    s.add_argument("--json", action="store_true", help="print JSON")

    s = sub.add_parser("run", parents=[common], help="run an experiment headless")
    s.add_argument("experiment")
    s.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help="set a parameter (repeatable)")
    s.add_argument("--json", action="store_true", help="print the result as one JSON object")
    s.add_argument("--record", metavar="FILE", help="write a session file while running")
    s.add_argument("--overwrite", action="store_true", help="let --record replace an existing file")
    s.add_argument("--quiet", action="store_true", help="no progress on stderr")

    s = sub.add_parser("replay", parents=[common], help="replay a session file")
    s.add_argument("file")
    s.add_argument("--headless", action="store_true",
                   help="print the final result instead of opening the TUI")
    s.add_argument("--json", action="store_true",
                   help="with --headless: print the result as one JSON object")
    s.add_argument("--speed", type=float, default=1.0,
                   help="replay speed factor for the TUI (inf = jump to the end)")

    s = sub.add_parser("rerun", parents=[common],
                       help="re-execute a session's run and check the numbers match")
    s.add_argument("file")
    s.add_argument("--json", action="store_true", help="print the comparison as JSON")
    s.add_argument("--quiet", action="store_true", help="no progress on stderr")
    s.add_argument("--scheduler", metavar="ADDRESS",
                   help="for a sweep session: an existing Dask scheduler (default: local)")
    s.add_argument("--workers", type=int,
                   help="for a sweep session: local cluster size (default: one per core)")

    s = sub.add_parser("plot", parents=[common],
                       help="draw a session's main plot as an SVG, PNG or PDF figure")
    s.add_argument("file")
    s.add_argument("-o", "--output", metavar="FILE",
                   help="figure file, .svg, .png or .pdf (default: the session's name with "
                   ".svg, next to it)")
    s.add_argument("--table", help="plot this table instead of the experiment's")
    s.add_argument("--x", help="abscissa column")
    s.add_argument("--y", action="append", metavar="COLUMN",
                   help="ordinate column (repeatable; theory columns first)")

    s = sub.add_parser("sweep", parents=[common],
                       help="run a parameter grid × seeds on Dask distributed")
    s.add_argument("experiment")
    s.add_argument("--grid", action="append", default=[], metavar="NAME=V1,V2,...",
                   help="values of one parameter (repeatable; list params: V1;V2)")
    s.add_argument("--seeds", type=int, default=8, help="seeds per grid point (default 8)")
    s.add_argument("--seed", type=int, help="sweep seed (default: drawn and recorded)")
    s.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help="fixed parameter for every task (repeatable)")
    s.add_argument("--scheduler", metavar="ADDRESS",
                   help="existing Dask scheduler, e.g. tcp://host:8786 (default: a local cluster)")
    s.add_argument("--workers", type=int, help="local cluster size (default: one per core)")
    s.add_argument("--json", action="store_true", help="print the result as one JSON object")
    s.add_argument("--record", metavar="FILE", help="write a session file (one frame per task)")
    s.add_argument("--overwrite", action="store_true", help="let --record replace an existing file")
    s.add_argument("--resume", metavar="FILE",
                   help="skip the tasks already finished in this sweep session")
    s.add_argument("--max-tasks", type=int, default=None,
                   help="refuse larger sweeps unless --yes (default 2000)")
    s.add_argument("--yes", action="store_true", help="run even above --max-tasks")
    s.add_argument("--plot", metavar="KEY",
                   help="summary key to plot against the first swept parameter (TUI, session)")
    s.add_argument("--quiet", action="store_true", help="no progress on stderr")

    s = sub.add_parser("audit", parents=[common],
                       help="check the source documents' claims: run each, print verdicts")
    s.add_argument("--source", action="append", default=[], metavar="NAME",
                   help="only the claims of this source document (repeatable)")
    s.add_argument("--claim", action="append", default=[], metavar="ID", nargs="+",
                   help="only these claims (repeatable)")
    s.add_argument("--list", action="store_true", help="list the claims without running them")
    s.add_argument("--json", action="store_true", help="print every claim with its verdict")
    s.add_argument("--report", metavar="FILE", help="write a Markdown (.md) or HTML report")
    s.add_argument("--record-dir", metavar="DIR",
                   help="session directory (default: <sessions>/audit-<UTC time>)")
    s.add_argument("--scheduler", metavar="ADDRESS",
                   help="run the claims on this Dask scheduler (tcp://host:8786)")
    s.add_argument("--threads", type=int, default=2,
                   help="claims run at once locally (default 2)")
    s.add_argument("--quiet", action="store_true", help="no progress on stderr")

    s = sub.add_parser("tui", parents=[common], help="open the terminal UI (the default)")

    s = sub.add_parser("serve", parents=[common],
                       help="serve the terminal UI to a web browser (loopback only by default)",
                       description="Serve the terminal UI to web browsers through textual-serve: "
                       "each browser tab runs its own 'matexplore tui' with the same "
                       "--plugin-dir and --sessions options. It listens on 127.0.0.1 (this "
                       "machine only) unless you choose another --host; there is no "
                       "authentication, so binding elsewhere lets anyone who reaches the port "
                       "run experiments as you — that is your explicit choice.")
    s.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1, loopback only; another "
                   "address, e.g. 0.0.0.0, exposes the UI to the network: your explicit choice)")
    s.add_argument("--port", type=int, default=8000, help="TCP port (default 8000)")
    s.add_argument("--public-url", metavar="URL",
                   help="the address browsers use to reach the server, when it differs from "
                   "http://HOST:PORT (e.g. behind a proxy)")
    return p


def _registry(args: argparse.Namespace) -> Registry:
    registry = load_registry(args.plugin_dir)
    set_registry(registry)
    return registry


def _parse_sets(pairs: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"--set expects NAME=VALUE; got {pair!r}.")
        out[name.strip()] = value
    return out


# -- list / describe ----------------------------------------------------------------------
def cmd_list(args: argparse.Namespace) -> int:
    registry = _registry(args)
    if args.json:
        _print_json(registry.to_json())
        return EXIT_OK
    for p in registry.plugins:
        print(f"{p.name} {p.version}  {'BROKEN' if p.error else 'ok'}  ({p.source})")
        if p.error:
            print(f"    error: {p.error}")
            if args.debug and p.traceback:
                print(textwrap.indent(p.traceback.rstrip(), "      "))
        for warning in p.warnings:
            print(f"    warning: {warning}")
        for exp_id in p.experiments:
            print(f"    {exp_id:<34} {registry.experiments[exp_id].experiment.title}")
        if p.activations:
            print(f"    activations: {', '.join(p.activations)}")
        if p.claims:
            print(f"    claims: {len(p.claims)} (see 'matexplore audit --list')")
    return EXIT_OK


def cmd_describe(args: argparse.Namespace) -> int:
    entry = _registry(args).get(args.experiment)
    exp = entry.experiment
    if args.json:
        _print_json(exp.info())
        return EXIT_OK
    print(f"{exp.id} — {exp.title}  (plugin {entry.plugin.name} {entry.plugin.version})")
    if exp.description:
        print("\n" + textwrap.dedent(exp.description).strip() + "\n")
    print("parameters (set with --set NAME=VALUE):")
    for name, spec in exp.all_params().items():
        print(f"  {name:<16} {spec.kind:<10} default: {spec.format_default()}")
        print(f"  {'':<16} allowed: {spec.allowed()}")
        if spec.help:
            print(f"  {'':<16} {spec.help}")
    return EXIT_OK


# -- run ----------------------------------------------------------------------------------
def cmd_run(args: argparse.Namespace) -> int:
    from .runner import Run

    entry = _registry(args).get(args.experiment)
    params = resolve_params(entry.experiment.all_params(), texts=_parse_sets(args.set))
    run = Run(entry, params, record=_recording(args.record, args.overwrite))
    return _execute_and_report(run, args, record=args.record)


def _recording(path: str | None, overwrite: bool) -> Any:
    """The session target of ``--record FILE``: refused if the file exists, unless
    ``--overwrite`` (the writer also creates it exclusively, so no race slips through)."""
    from .session import Recording

    if path is None:
        return None
    if not overwrite and os.path.lexists(path):
        raise UsageError(f"{path} already exists; pass --overwrite to replace it or choose "
                         "another --record file.")
    return Recording(path=Path(path), overwrite=overwrite)


def _execute_and_report(run: Any, args: argparse.Namespace, *, record: str | None) -> int:
    """Run with progress, print the result (JSON or a summary) and map status to exit code."""
    with SignalGuard() as guard:  # installed until the result is printed
        _wait_with_progress(run, guard, quiet=args.quiet)
        result = run.result()
        if args.json:
            _print_json(result)
        else:
            _print_result(result, run.entry.experiment.info())
    for warning in getattr(run, "warnings", []):
        print(f"warning: {warning}", file=sys.stderr)
    if run.status == "failed":
        print(f"error: run failed: {run.error}", file=sys.stderr)
        if args.debug and run.traceback:
            print(run.traceback, file=sys.stderr)
        return EXIT_FAILED
    if record:
        print(f"session written to {record}", file=sys.stderr)
    if run.status == "cancelled":
        return EXIT_CANCELLED
    failed = result["summary"].get("failed", 0) if "sweep" in result else 0
    if failed:
        print(f"warning: {failed} task(s) failed; see the 'tasks' table", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


class Abandoned(Exception):
    """A third interrupt: the session was ended ``cancelled`` without waiting (exit 130)."""


def _sigterm_as_ctrl_c(signum: int, frame: Any) -> None:
    """SIGTERM handled like Ctrl-C (KeyboardInterrupt: the audit cancels its claims)."""
    raise KeyboardInterrupt


class SignalGuard:
    """Counts SIGINT/SIGTERM while installed (a context manager) instead of raising.

    The handler only counts; the waiting loop acts on the count, so no signal can land in
    the middle of printing the result or writing the session."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.count = 0
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> SignalGuard:
        for sig in self.SIGNALS:
            self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: Any) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def _handle(self, signum: int, frame: Any) -> None:
        self.count += 1


def _wait_with_progress(run: Any, guard: SignalGuard, *, quiet: bool) -> None:
    """Start the run and wait for it; act on interrupts as the module docstring says."""
    run.start()
    if not quiet and sys.stderr.isatty():
        from rich.progress import (BarColumn, Progress, TextColumn, TimeElapsedColumn,
                                   TimeRemainingColumn)

        with Progress(TextColumn("{task.description}"), BarColumn(),
                      TextColumn("{task.fields[info]}"), TimeElapsedColumn(),
                      TimeRemainingColumn(), transient=True) as bar:
            task = bar.add_task(run.experiment_id, total=None, info="")

            def show() -> None:
                st = run.state
                bar.update(task, total=st.total, completed=st.step or 0, info=st.message or "")
            _wait_loop(run, guard, show)
    else:
        _wait_loop(run, guard, lambda: None)


def _wait_loop(run: Any, guard: SignalGuard, tick: Any) -> None:
    seen = 0
    while not run.wait(0.05):
        if guard.count > seen:  # several signals may have arrived since the last look
            if seen == 0:
                run.cancel()
                print("cancelling… (waiting for the partial result)", file=sys.stderr)
            seen = guard.count
            if seen >= 3:
                run.abandon("stopped at once by a third interrupt; the results end early")
                raise Abandoned
            if seen == 2:
                print("still cancelling…; interrupt once more to stop at once "
                      "(the session is kept)", file=sys.stderr)
        tick()


def _print_result(result: dict[str, Any], info: dict[str, Any]) -> None:
    """The result as text: compare rows first (a table: quantity | theory | source says |
    measured | error | mark), then check rows as sentences, then the other outputs — all
    from :func:`~matexplore.verdicts.summary_rows` — then the size of each table."""
    from rich.console import Console

    from .verdicts import summary_rows, value_text

    con = Console(highlight=False)
    con.print(f"[bold]{result['experiment']}[/]  status: {result['status']}  "
              f"seed: {result['seed']}")
    rows = summary_rows(info, result["summary"], result.get("params"))
    compares = [r for r in rows if r.kind == "compare"]
    if compares:
        con.print(_compare_table(compares))
    for r in rows:
        if r.kind == "check":
            con.print(f"{_MARK_STYLE[r.ok]} {r.text}")
    outputs = [r for r in rows if r.kind in ("output", "source")]
    if outputs:
        from rich.table import Table

        table = Table("output", "value", title="other outputs")
        for r in outputs:
            label = f"{r.label} (source says)" if r.kind == "source" else r.label
            table.add_row(label, value_text(r.source if r.kind == "source" else r.measured))
        con.print(table)
    for name, t in result["tables"].items():
        con.print(f"table {name}: {len(t['rows'])} rows × {len(t['columns'])} columns "
                  f"({', '.join(t['columns'])}); use --json for the data")


_MARK_STYLE = {True: "[green]✓[/]", False: "[red]✗[/]", None: "·"}


def _compare_table(rows: Sequence[Any]) -> Any:
    """quantity | theory | source says (when any row has one) | measured ± SE | error |
    ✓/✗ — the error in SE when the measurement has one, else in % of the theory."""
    from rich.table import Table
    from rich.text import Text

    from .verdicts import error_text, mark, value_text

    with_source = any(r.source is not None for r in rows)
    table = Table(title="theory vs measurement")
    for name in ("quantity", "theory", *(["source says"] if with_source else []),
                 "measured", "error", ""):
        table.add_column(name, justify="left" if name == "quantity" else "right")
    for r in rows:
        cells = [r.label, value_text(r.theory)]
        if with_source:
            cells.append(value_text(r.source) + (f" {mark(r.source_ok)}" if r.source_ok
                                                  is not None else ""))
        cells += [value_text(r.measured, r.se), error_text(r.error, r.error_unit)]
        style = {True: "green", False: "red"}.get(r.ok, "")
        table.add_row(*map(Text, cells), Text(mark(r.ok), style=style))
    return table


# -- replay / rerun -----------------------------------------------------------------------
def cmd_replay(args: argparse.Namespace) -> int:
    session = read_session(args.file)
    if args.headless:
        if args.json:
            _print_json(session.result())
        else:
            _print_result(session.result(), session.info)
        if session.note:
            print(f"note: {session.note}", file=sys.stderr)
        return EXIT_OK
    if not (args.speed > 0):
        raise UsageError(f"--speed must be positive (or inf); got {args.speed}.")
    from .tui.app import MatexploreApp

    MatexploreApp(registry=_registry(args), replay=session, replay_speed=args.speed).run()
    return EXIT_OK


def cmd_rerun(args: argparse.Namespace) -> int:
    from .rerun import compare_results, rerun_session

    session = read_session(args.file)
    registry = _registry(args)
    run = rerun_session(session, registry, scheduler=args.scheduler, workers=args.workers)
    with SignalGuard() as guard:
        _wait_with_progress(run, guard, quiet=args.quiet)
        report = compare_results(session, run.result(),
                                 str(getattr(run.entry.experiment, "version", "1")))
        if args.json:
            _print_json(report)
        else:
            _print_result(run.result(), session.info)
            for line in report["lines"]:
                print(line)
    return EXIT_OK if report["match"] else EXIT_FAILED


def cmd_plot(args: argparse.Namespace) -> int:
    """Draw the session's plot (:func:`~matexplore.figures.figure_for`) into a file."""
    from .figures import FigureError, figure_beside, figure_for, figure_path, save_figure

    session = read_session(args.file)
    out = Path(args.output) if args.output else figure_beside(session.path)
    try:
        figure_path(out)  # a wrong suffix is refused before drawing
        fig = figure_for(session.result(), session.info, table=args.table, x=args.x, y=args.y)
        save_figure(fig, out)
    except FigureError as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise UsageError(f"Cannot write {out}: {exc.strerror or exc}.") from None
    print(f"figure written to {out}")
    return EXIT_OK


def cmd_sweep(args: argparse.Namespace) -> int:
    from .runner import Run
    from .sweep import DEFAULT_MAX_TASKS, make_sweep, parse_grid, plan_sweep

    registry = _registry(args)
    entry = registry.get(args.experiment)
    resume = read_session(args.resume) if args.resume else None
    spec = plan_sweep(registry, entry, parse_grid(entry.experiment, args.grid),
                      texts=_parse_sets(args.set), seeds=args.seeds, seed=args.seed,
                      resume=resume, max_tasks=None if args.yes else
                      args.max_tasks or DEFAULT_MAX_TASKS)
    record = args.record or args.resume
    rewrite = args.resume is not None and Path(record).resolve() == Path(args.resume).resolve()
    recording = _recording(record, args.overwrite or rewrite)  # --resume rewrites its file
    sweep = make_sweep(entry, spec, scheduler=args.scheduler, workers=args.workers,
                       resume=resume, plot_key=args.plot)
    run = Run(sweep, {"seed": spec.seed}, record=recording, meta={"sweep": spec.to_json()})
    return _execute_and_report(run, args, record=record)


def cmd_audit(args: argparse.Namespace) -> int:
    import time

    from .audit import audit_dir, run_audit, select_claims

    registry = _registry(args)
    ids = [i for group in args.claim for i in group]
    claims = select_claims(registry, args.source, ids)
    if args.list:
        for c in claims:
            print(f"{c.id:<42} {c.source:<14} {c.location}")
        return EXIT_OK
    if args.report and Path(args.report).suffix.lower() not in (".md", ".html", ".htm"):
        raise UsageError(f"--report must name a .md or .html file; got {args.report!r}.")
    if args.threads < 1:
        raise UsageError(f"--threads must be at least 1; got {args.threads}.")
    directory = Path(args.record_dir) if args.record_dir else audit_dir(default_session_dir())
    start, outcomes = time.monotonic(), []
    previous = signal.signal(signal.SIGTERM, _sigterm_as_ctrl_c)
    try:
        for o in run_audit(registry, claims, directory, threads=args.threads,
                           scheduler=args.scheduler):
            outcomes.append(o)
            if not args.quiet:
                print(f"[{len(outcomes)}/{len(claims)}] {o.claim.id}: {o.verdict.verdict} "
                      f"({o.elapsed:.1f} s)", file=sys.stderr, flush=True)
    finally:
        signal.signal(signal.SIGTERM, previous)
    order = {c.id: i for i, c in enumerate(claims)}
    outcomes.sort(key=lambda o: order[o.claim.id])
    if args.json:
        _print_json({"claims": [o.to_json() for o in outcomes],
                     "sessions": str(directory),
                     "elapsed": round(time.monotonic() - start, 3)})
    else:
        _print_verdicts(outcomes)
    if not args.quiet:
        print(f"{len(outcomes)} claims in {time.monotonic() - start:.1f} s; sessions in "
              f"{directory}", file=sys.stderr)
    if args.report:
        from .report import write_report

        try:
            written = write_report(outcomes, Path(args.report))
        except OSError as exc:
            raise UsageError(f"cannot write the report {args.report}: "
                             f"{exc.strerror or exc}.") from None
        print(f"report written to {written[0]} ({len(written) - 1} figure file(s))"
              if len(written) > 1 else f"report written to {written[0]}", file=sys.stderr)
    failed = [o for o in outcomes if o.failed]
    for o in failed:
        print(f"error: claim {o.claim.id} could not be run: {o.result.get('error')}",
              file=sys.stderr)
    return EXIT_FAILED if failed else EXIT_OK


def _print_verdicts(outcomes: list[Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    from .report import format_number, measured_text

    table = Table("claim", "source says", "exact", "measured ± se", "verdict",
                  title="claims audit")
    for o in outcomes:
        table.add_row(o.claim.id, format_number(o.verdict.source_value),
                      format_number(o.verdict.exact), measured_text(o), o.verdict.verdict)
    Console(width=max(120, Console().width)).print(table)


def cmd_tui(args: argparse.Namespace) -> int:
    from .tui.app import MatexploreApp

    dirs = [default_session_dir(), *map(Path, args.sessions)]
    MatexploreApp(registry=_registry(args), session_dirs=dirs).run()
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve ``matexplore tui`` (with this command's plugin and session options) over
    HTTP + websocket with textual-serve, until Ctrl-C."""
    import shlex

    from textual_serve.server import Server

    if not 0 < args.port < 65536:
        raise UsageError(f"--port must be between 1 and 65535; got {args.port}.")
    command = [sys.executable, "-m", "matexplore.cli", "tui"]
    for d in args.plugin_dir:
        command += ["--plugin-dir", str(Path(d).resolve())]
    for d in args.sessions:
        command += ["--sessions", str(Path(d).resolve())]
    if args.debug:
        command.append("--debug")
    host = f"[{args.host}]" if ":" in args.host else args.host
    server = Server(shlex.join(command), host=args.host, port=args.port, title="matexplore",
                    public_url=args.public_url or f"http://{host}:{args.port}")
    try:
        server.serve()
    except OSError as exc:  # e.g. the port is taken or the address is not this machine's
        raise UsageError(f"cannot listen on {args.host}:{args.port}: "
                         f"{exc.strerror or exc}.") from None
    return EXIT_OK


def _print_json(obj: Any) -> None:
    from .frames import to_json_value

    print(json.dumps(to_json_value(obj), ensure_ascii=False, allow_nan=False))


COMMANDS = {"list": cmd_list, "describe": cmd_describe, "run": cmd_run, "replay": cmd_replay,
            "rerun": cmd_rerun, "plot": cmd_plot, "sweep": cmd_sweep, "audit": cmd_audit,
            "tui": cmd_tui, "serve": cmd_serve, None: cmd_tui}


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    _merge_globals(args)
    if args.version:
        from . import __version__

        print(f"matexplore {__version__}")
        return EXIT_OK
    from .runner import limit_blas_threads

    limit_blas_threads()
    try:
        return COMMANDS[args.command](args)
    except (UsageError, ParamError, UnknownExperiment, SessionError, UnknownClaim) as exc:
        print(f"error: {exc}", file=sys.stderr)
        if args.debug and getattr(exc, "traceback", None):  # a broken plugin's
            print(exc.traceback, file=sys.stderr)
        return EXIT_USAGE
    except Abandoned:
        print("stopped; the session file ends as cancelled", file=sys.stderr)
        return EXIT_CANCELLED
    except KeyboardInterrupt:
        return EXIT_CANCELLED
    except BrokenPipeError:  # e.g. `matexplore run ... --json | head`: the reader left
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except Exception as exc:  # an unexpected bug: one sentence unless --debug
        if args.debug:
            raise
        print(f"error: {type(exc).__name__}: {exc} (run with --debug for details)",
              file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""Bytes per second the real TUI writes to its terminal during a live run (SSH budget).

Runs ``matexplore`` in a pseudo-terminal of ``--cols``×``--rows`` (default 80×24), opens
``--experiment`` from the browser by typing its id into the filter, sets ``networks`` (for
the default mlp-collapse.norms) in the form, starts the run with ctrl+r, and counts the
bytes the app writes during ``--seconds`` of steady state (after a warm-up that covers
kernel compilation). Also reports the bytes of the idle browser. Then cancels and quits.

    python benchmarks/terminal_bytes.py [--seconds 10] [--cols 80 --rows 24]
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import select
import struct
import sys
import tempfile
import termios
import time


LOG = bytearray()


def drain(fd: int, seconds: float) -> int:
    """Read everything the app writes for ``seconds``; return the byte count."""
    end = time.monotonic() + seconds
    total = 0
    while (left := end - time.monotonic()) > 0:
        ready, _, _ = select.select([fd], [], [], min(left, 0.1))
        if ready:
            try:
                data = os.read(fd, 65536)
            except OSError:
                break
            total += len(data)
            LOG.extend(data)
    return total


def send(fd: int, keys: str, pause: float = 0.3) -> None:
    os.write(fd, keys.encode())
    drain(fd, pause)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--experiment", default="mlp-collapse.norms")
    p.add_argument("--networks", default="3000000")
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--warmup", type=float, default=6.0)
    p.add_argument("--cols", type=int, default=80)
    p.add_argument("--rows", type=int, default=24)
    args = p.parse_args()
    sessions = tempfile.mkdtemp(prefix="mx-bytes-")
    pid, fd = pty.fork()
    if pid == 0:  # child: the real app, as a user starts it
        os.environ.update(TERM="xterm-256color", COLORTERM="truecolor",
                          MATEXPLORE_SESSIONS=sessions)
        exe = os.path.join(os.path.dirname(sys.executable), "matexplore")
        os.execv(exe, [exe])
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", args.rows, args.cols, 0, 0))
    try:
        startup = drain(fd, 4.0)
        idle = drain(fd, 3.0)
        send(fd, args.experiment, 0.5)          # type-to-filter in the browser
        send(fd, "\r", 0.3)                      # filter -> tree
        send(fd, "\r", 1.0)                      # open the run tab (focus: first field)
        if args.experiment == "mlp-collapse.norms":
            for key in "\t\t\t\x05\x15" + args.networks:  # tab to networks, clear, type
                send(fd, key, 0.15)
        send(fd, "\x12", 0.1)                    # ctrl+r: run
        warm = drain(fd, args.warmup)
        steady = drain(fd, args.seconds)
        send(fd, "\x07", 1.0)                    # ctrl+g: cancel
        send(fd, "\x11", 0.5)                    # ctrl+q
        send(fd, "y", 0.5)
    finally:
        try:
            os.kill(pid, 15)
        except ProcessLookupError:
            pass
        os.waitpid(pid, 0)
    from pathlib import Path

    if os.environ.get("MX_BYTES_LOG"):
        Path(os.environ["MX_BYTES_LOG"]).write_bytes(bytes(LOG))
    from matexplore.session import read_session

    runs = [read_session(f) for f in Path(sessions).glob("*.jsonl")]
    print(f"terminal {args.cols}×{args.rows}, experiment {args.experiment}; recorded runs: "
          + (", ".join(f"{s.experiment} networks={s.header['params'].get('networks')} "
                       f"{s.status} after {len(s.frames)} frames" for s in runs) or "NONE"))
    print(f"start-up: {startup} bytes; idle browser: {idle / 3.0:.0f} B/s")
    print(f"run warm-up ({args.warmup:.0f} s, includes first draw of the run tab): "
          f"{warm / args.warmup / 1024:.1f} KB/s")
    print(f"live run, steady state over {args.seconds:.0f} s: "
          f"{steady / args.seconds / 1024:.1f} KB/s  ({steady} bytes)")


if __name__ == "__main__":
    main()

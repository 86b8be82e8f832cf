"""Browser mode: `matexplore serve` spoken to as a browser does — the HTML page, then its
websocket (textual-serve's protocol: JSON text envelopes up, terminal bytes down) until the
app's first screen arrives with the experiment tree."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import time

import pytest

aiohttp = pytest.importorskip("aiohttp")  # a dependency of textual-serve, so always present

ANSI = re.compile(rb"\x1b\[[0-9;?<>=$]*[ -/]*[@-~]")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stdout.read()
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise AssertionError(f"the server did not listen on port {port} within {timeout} s")


async def first_screen(port: int, needle: bytes, timeout: float = 90) -> tuple[str, bytes]:
    """GET the page, open the websocket it names with the browser's query and first
    message (its size), and collect terminal output until ``needle`` appears."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as http:
        async with http.get(f"http://127.0.0.1:{port}/") as resp:
            assert resp.status == 200
            page = await resp.text()
        url = re.search(r'data-session-websocket-url="([^"]+)"', page).group(1)
        screen = b""
        async with http.ws_connect(f"{url}?width=120&height=80") as ws:
            await ws.send_json(["resize", {"width": 120, "height": 80}])
            await ws.send_json(["ping", "1"])

            async def read() -> None:
                nonlocal screen
                async for msg in ws:
                    if msg.type == aiohttp.WSMsgType.BINARY:
                        screen += msg.data
                        if needle in ANSI.sub(b"", screen):
                            return
            try:
                await asyncio.wait_for(read(), timeout)
            except asyncio.TimeoutError:
                pass
        return url, ANSI.sub(b"", screen)


def test_serve_sends_the_tui_to_a_browser(toy_dir, tmp_path):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "matexplore.cli", "serve", "--port", str(port),
                             "--plugin-dir", str(toy_dir), "--sessions", str(tmp_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True,
                            env={**os.environ, "MATEXPLORE_SESSIONS": str(tmp_path)})
    try:
        wait_listening(port, proc)
        url, screen = asyncio.run(first_screen(port, b"Random walk"))
        assert url == f"ws://127.0.0.1:{port}/ws"
        text = screen.decode("utf-8", "replace")
        assert "Random walk" in text, text[-2000:]  # the --plugin-dir plugin is in the tree
        assert "kernel_maps" in text and "Experiments" in text
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


def test_serve_listens_on_loopback_by_default():
    from matexplore.cli import _parser

    args = _parser().parse_args(["serve"])
    assert (args.host, args.port) == ("127.0.0.1", 8000)
    p = subprocess.run([sys.executable, "-m", "matexplore.cli", "serve", "--help"],
                       capture_output=True, text=True, timeout=60)
    assert "default 127.0.0.1, loopback only" in " ".join(p.stdout.split())
    p = subprocess.run([sys.executable, "-m", "matexplore.cli", "serve", "--port", "70000"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and p.stderr == "error: --port must be between 1 and 65535; got 70000.\n"


def test_serve_reports_a_taken_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        p = subprocess.run([sys.executable, "-m", "matexplore.cli", "serve", "--port", str(port)],
                           capture_output=True, text=True, timeout=60)
    assert p.returncode == 2, p.stderr
    assert f"error: cannot listen on 127.0.0.1:{port}:" in p.stderr

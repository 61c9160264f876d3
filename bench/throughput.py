"""Throughput of the fleet list page under load, against a bare Flask app serving the same HTML.

Both run under gunicorn with the same settings (2 sync workers on 127.0.0.1); ``wrk`` loads
each for the same duration and number of connections, signed in with the session cookie of a
real sign-in. A Lua hook counts every answer that is not 200 (a redirect to the sign-in page
would otherwise pass for a fast success). The result is req/s of both and their ratio, and
the server's CPU a request (gunicorn master and workers, and on PostgreSQL the backends that
serve them) of both, whose ratio is what the req/s ratio would be on an otherwise idle machine.
"""

from __future__ import annotations

import http.client
import re
import shutil
import socket
import subprocess
import sys
import time
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

from bench.common import DATA_DIR, Target, log
from bench.cpu import CpuMeter
from bench.dataset import Dataset
from core.settings import PROJECT_ROOT

USER_AGENT = "asystent-bench/1"  # the session is bound to address + user agent
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
COOKIE = "asystent_portal"
WRK_SCRIPT = """
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) not200 = 0 end
function response(status, headers, body)
  if status ~= 200 then not200 = not200 + 1 end
end
function done(summary, latency, requests)
  local total = 0
  for _, t in ipairs(threads) do total = total + t:get("not200") end
  io.write(string.format("not-200: %d\\n", total))
end
"""


def free_port() -> int:
    for port in range(5200, 5300):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port between 5200 and 5299")


class Gunicorn:
    """gunicorn with 2 sync workers on 127.0.0.1, stopped (by its own pid) on exit."""

    def __init__(
        self, app_spec: str, env: dict, name: str, ready_path: str = "/login", workers: int = 2
    ) -> None:
        self.port = free_port()
        self.ready_path = ready_path
        self.log_path = DATA_DIR / f"gunicorn-{name}.log"
        self.cmd = [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            str(workers),
            "--bind",
            f"127.0.0.1:{self.port}",
            "--log-level",
            "warning",
            app_spec,
        ]
        self.env = env

    def __enter__(self) -> Gunicorn:
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            self.cmd, cwd=PROJECT_ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited; see {self.log_path}")
            try:
                status, _, _ = request(self.port, "GET", self.ready_path)
                if status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.2)
        self.__exit__()
        raise RuntimeError(f"gunicorn did not answer within 60 s; see {self.log_path}")

    def __exit__(self, *_exc) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def request(port: int, method: str, path: str, body: str | None = None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        all_headers = {"User-Agent": USER_AGENT, **(headers or {})}
        if body is not None:
            all_headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=body, headers=all_headers)
        response = conn.getresponse()
        data = response.read()
        cookies = SimpleCookie()
        for value in response.headers.get_all("Set-Cookie") or []:
            cookies.load(value)
        return response.status, data, cookies
    finally:
        conn.close()


def sign_in(port: int, data: Dataset) -> str:
    """The ``Cookie`` header of a signed-in fleet administrator."""
    status, page, cookies = request(port, "GET", "/login")
    token = CSRF_RE.search(page.decode())
    if status != 200 or token is None:
        raise RuntimeError("the sign-in page did not load")
    jar = f"{COOKIE}={cookies[COOKIE].value}"
    form = urlencode(
        {"email": data.admin_email, "password": data.password, "csrf_token": token.group(1)}
    )
    status, _, cookies = request(port, "POST", "/login", form, {"Cookie": jar})
    if status != 302 or COOKIE not in cookies:
        raise RuntimeError(f"sign-in failed ({status})")
    return f"{COOKIE}={cookies[COOKIE].value}"


def run_wrk(port: int, cookie: str, seconds: int, connections: int, threads: int) -> dict:
    script = DATA_DIR / "count_not_200.lua"
    script.write_text(WRK_SCRIPT)
    out = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "--timeout",
            "30s",
            "-s",
            str(script),
            "-H",
            f"Cookie: {cookie}",
            "-H",
            f"User-Agent: {USER_AGENT}",
            f"http://127.0.0.1:{port}/fleet/",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    def grab(pattern: str, cast=float, default=None):
        m = re.search(pattern, out)
        return cast(m.group(1)) if m else default

    def ms(label: str) -> float | None:
        m = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if not m:
            return None
        return round(float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)], 2)

    return {
        "rps": grab(r"Requests/sec:\s+([\d.]+)"),
        "requests": grab(r"(\d+) requests in", int),
        "not_200": grab(r"not-200: (\d+)", int, 0),
        "errors": grab(r"Socket errors:(.*)", str, "").strip() or None,
        "latency_p50_ms": ms("50"),
        "latency_p99_ms": ms("99"),
    }


def _load(server: Gunicorn, cookie: str, meter, seconds, connections, threads, warmup) -> dict:
    """Warm up, then the measured wrk run, with the server's CPU per request."""
    run_wrk(server.port, cookie, warmup, connections, threads)
    meter.start()
    figures = run_wrk(server.port, cookie, seconds, connections, threads)
    used = meter.stop()
    meter.close()
    if figures["requests"]:
        figures["cpu_ms_per_request"] = round(used * 1000 / figures["requests"], 2)
    return figures


def measure(
    tgt: Target,
    data: Dataset,
    *,
    seconds: int = 10,
    connections: int = 8,
    threads: int = 2,
    warmup: int = 2,
) -> dict:
    if shutil.which("wrk") is None:
        return {"skipped": "wrk is not installed (apt-get install wrk)"}
    env = tgt.env()
    load = {"seconds": seconds, "connections": connections, "threads": threads, "warmup": warmup}
    result: dict = {"seconds": seconds, "connections": connections, "wrk_threads": threads}
    with Gunicorn("wsgi:create_app()", env, f"app-{tgt.name}") as app:
        cookie = sign_in(app.port, data)
        status, html, _ = request(app.port, "GET", "/fleet/", headers={"Cookie": cookie})
        if status != 200:
            return {"skipped": f"the fleet page answered {status} (does /fleet/ exist yet?)"}
        html_path = DATA_DIR / f"fleet_page-{tgt.name}.html"
        html_path.write_bytes(html)
        result["page_bytes"] = len(html)
        meter = tgt.cpu_meter(own=False, pids=[app.proc.pid])
        result["app"] = _load(app, cookie, meter, **load)
    log(f"{tgt.name}: app {result['app']['rps']} req/s")
    bare_env = {**env, "BENCH_HTML": str(Path(html_path))}
    with Gunicorn(
        "bench.bare_app:create_app()", bare_env, f"bare-{tgt.name}", ready_path="/fleet/"
    ) as bare:
        result["bare"] = _load(bare, cookie, CpuMeter(own=False, pids=[bare.proc.pid]), **load)
    log(f"{tgt.name}: bare {result['bare']['rps']} req/s")
    if result["app"]["rps"] and result["bare"]["rps"]:
        result["ratio"] = round(result["app"]["rps"] / result["bare"]["rps"], 3)
    app_cpu = result["app"].get("cpu_ms_per_request")
    bare_cpu = result["bare"].get("cpu_ms_per_request")
    if app_cpu and bare_cpu:
        # What the ratio would be on a machine doing nothing else (CPU-bound servers).
        result["cpu_ratio"] = round(bare_cpu / app_cpu, 3)
    return result

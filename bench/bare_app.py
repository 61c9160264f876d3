"""The yardstick for the throughput test: a bare Flask app that serves the fleet page's HTML,
captured once from the real app, from memory. Under the same gunicorn settings it shows what
the server and the network stack cost, so the real page's req/s can be read as a ratio.

    BENCH_HTML=bench/data/fleet_page.html gunicorn -w 2 'bench.bare_app:create_app()'
"""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask, Response


def create_app(html_path: str | None = None) -> Flask:
    body = Path(html_path or os.environ["BENCH_HTML"]).read_bytes()
    app = Flask(__name__)

    @app.get("/fleet/")
    def fleet_page():
        return Response(body, mimetype="text/html")

    return app

"""The yardstick of every benchmark: a bare Flask hello world, nothing of PrepBase.

bench/harness.py serves it with gunicorn on the same settings as the app in the same run,
and every page's throughput is printed as a multiple of this one's.
"""

from __future__ import annotations

from flask import Flask

app = Flask(__name__)


@app.get("/healthz")
def hello() -> str:
    return "ok"

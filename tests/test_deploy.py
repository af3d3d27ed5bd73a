"""What a production install uses besides the app: gunicorn.conf.py (README, Deploying),
the dependency locks with their hashes, and the wheel."""

from __future__ import annotations

import json
import os
import re
import runpy
import shutil
import subprocess
import sys
import time
import tomllib
import zipfile
from pathlib import Path

import pytest
import requests
from gunicorn.config import KNOWN_SETTINGS
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.clock import gunicorn_command
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


# --- gunicorn.conf.py --------------------------------------------------------------------


def gunicorn_settings(monkeypatch, **env: str) -> dict[str, object]:
    for name in ("WEB_CONCURRENCY", "FORWARDED_ALLOW_IPS", "GUNICORN_BIND", "GUNICORN_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    loaded = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    return {k: v for k, v in loaded.items() if not k.startswith("__") and k != "os"}


def test_gunicorn_conf_holds_only_gunicorn_settings(monkeypatch):
    """A misspelt name would be ignored by gunicorn without a word."""
    known = {setting.name for setting in KNOWN_SETTINGS}
    assert set(gunicorn_settings(monkeypatch)) - known == set()


def test_gunicorn_conf_production_settings(monkeypatch):
    settings = gunicorn_settings(monkeypatch)
    assert settings["worker_class"] == "sync"
    assert settings["workers"] == 2 * (os.cpu_count() or 1) + 1
    assert (settings["timeout"], settings["graceful_timeout"]) == (30, 30)
    assert (settings["max_requests"], settings["max_requests_jitter"]) == (1000, 100)
    assert settings["accesslog"] == "-"
    assert "%({x-request-id}o)s" in str(settings["access_log_format"])
    assert settings["forwarded_allow_ips"] == "127.0.0.1,::1"
    assert settings["control_socket_disable"] is True


def test_gunicorn_conf_reads_workers_and_proxies_from_the_environment(monkeypatch):
    settings = gunicorn_settings(
        monkeypatch, WEB_CONCURRENCY="3", FORWARDED_ALLOW_IPS="10.0.0.2", GUNICORN_TIMEOUT="45"
    )
    assert (settings["workers"], settings["forwarded_allow_ips"], settings["timeout"]) == (
        3,
        "10.0.0.2",
        45,
    )


def test_gunicorn_with_the_conf_logs_each_request_with_its_id_and_no_secret(database_url, tmp_path):
    port = free_port()
    env = dict(os.environ)
    env.update(
        PREPBASE_ENV="testing",
        DATABASE_URL=database_url,
        MAIL_BACKEND="console",
        RATELIMIT_DISABLED="1",
        PREPBASE_INSTANCE_DIR=str(tmp_path),
        LOG_FORMAT="json",
        HOME=str(tmp_path),  # where this gunicorn would put its control socket
        GUNICORN_BIND=f"127.0.0.1:{port}",
        WEB_CONCURRENCY="1",
    )
    env.pop("XDG_RUNTIME_DIR", None)
    out, err = tmp_path / "stdout", tmp_path / "stderr"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        server = subprocess.Popen(
            gunicorn_command("--config", "gunicorn.conf.py", "wsgi:app"),
            cwd=ROOT,
            env=env,
            stdout=stdout,
            stderr=stderr,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            for _ in range(300):
                try:
                    alive = requests.get(f"{url}/healthz", timeout=5)
                    break
                except requests.RequestException:
                    time.sleep(0.05)
            else:
                pytest.fail(f"gunicorn did not start: {err.read_text()}")
            secret = requests.get(f"{url}/no-such-business/invite/secret-tok-123", timeout=5)
        finally:
            server.terminate()
            server.wait(timeout=30)
    access, app_log = out.read_text(), err.read_text()
    assert secret.status_code == 404
    # gunicorn's access line: time, the response's request id, method, masked path, status.
    for response, request in ((alive, "/healthz"), (secret, "/no-such-business/invite/<token>")):
        expected = f'{response.headers["X-Request-ID"]} "GET {request}" {response.status_code} '
        assert expected in access
    assert "secret-tok-123" not in access + app_log
    lines = [json.loads(line) for line in app_log.splitlines() if line.startswith("{")]
    logged = [line for line in lines if line.get("logger") == "prepbase.request"]
    assert [(line["request_id"], line["path"], line["status"]) for line in logged][-2:] == [
        (alive.headers["X-Request-ID"], "/healthz", 200),
        (secret.headers["X-Request-ID"], "/no-such-business/invite/<token>", 404),
    ]
    assert not (tmp_path / ".gunicorn").exists()  # no control socket


# --- dependencies ------------------------------------------------------------------------


def locked(name: str) -> dict[str, str]:
    """Each package of a lock file and its version, checking every one has hashes."""
    text = (ROOT / name).read_text()
    pins: dict[str, str] = {}
    for block in re.split(r"\n(?=\S)", text):
        first = block.splitlines()[0]
        if first.startswith("#") or not first.strip():
            continue
        match = re.match(r"([A-Za-z0-9_.\-]+)==(\S+) \\$", first)
        assert match, f"{name}: not an exact pin followed by hashes: {first!r}"
        assert "--hash=sha256:" in block, f"{name}: {first} has no hash"
        pins[canonicalize_name(match.group(1))] = match.group(2)
    return pins


def test_the_locks_pin_every_declared_dependency_with_hashes():
    runtime, dev = locked("requirements.txt"), locked("requirements-dev.txt")
    project = PYPROJECT["project"]
    for spec in project["dependencies"]:
        requirement = Requirement(spec)
        name = canonicalize_name(requirement.name)
        assert name in runtime, f"{spec} is not in requirements.txt: run make lock"
        assert requirement.specifier.contains(runtime[name]), f"{spec}: locked {runtime[name]}"
    for spec in project["optional-dependencies"]["dev"]:
        requirement = Requirement(spec)
        name = canonicalize_name(requirement.name)
        assert name in dev, f"{spec} is not in requirements-dev.txt: run make lock"
        assert requirement.specifier.contains(dev[name]), f"{spec}: locked {dev[name]}"
    # The dev lock installs the same runtime versions.
    assert {name: dev.get(name) for name in runtime} == runtime


def test_make_installs_the_locks_with_hash_checking():
    makefile = (ROOT / "Makefile").read_text()
    assert "--require-hashes" in makefile
    assert "-r requirements.txt" in makefile and "-r requirements-dev.txt" in makefile


def test_the_package_builds_as_a_wheel(tmp_path):
    source = tmp_path / "source"
    source.mkdir()
    shutil.copy(ROOT / "pyproject.toml", source)
    shutil.copy(ROOT / "config.py", source)
    shutil.copytree(
        ROOT / "prepbase", source / "prepbase", ignore=shutil.ignore_patterns("__pycache__")
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--wheel-dir",
            str(tmp_path / "dist"),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = (tmp_path / "dist").glob("prepbase-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        metadata = archive.read("prepbase-0.1.0.dist-info/METADATA").decode()
    expected = {
        str(path.relative_to(ROOT))
        for path in (ROOT / "prepbase").rglob("*.py")
        if "__pycache__" not in path.parts
    }
    assert expected | {"config.py"} <= names
    required = {
        canonicalize_name(Requirement(line.removeprefix("Requires-Dist: ")).name)
        for line in metadata.splitlines()
        if line.startswith("Requires-Dist: ") and "extra ==" not in line
    }
    assert required == {
        canonicalize_name(Requirement(spec).name) for spec in PYPROJECT["project"]["dependencies"]
    }

"""How long Settings → Import takes for the largest file it accepts, each step one request
under gunicorn, on loopback only (issue 20: "imports run within one request for that
size").

Seeds the demo business on a fresh database (temporary SQLite unless DATABASE_URL is
set), starts gunicorn (one sync worker), signs in as the demo owner and, for a file of
N families (one parent and one student a row; default 10,000, the limit), times:

- upload → preview (`POST /demo/admin/settings/import`: read, check and plan every row),
- the preview page (`GET …/import/<id>`: planned again, the first 200 good rows shown),
- confirm (`POST …/import/<id>/confirm`: every row written in one transaction),
- the same for an opening-balances file of the same N students (Total 10, Remaining 7.5),
- the families file again (idempotent: nothing new; planned and confirmed all the same).

Then the ledger audit runs. Each step must finish well inside gunicorn's 30 s worker
timeout; the page shows a progress indicator on Confirm while it runs.

    .venv/bin/python bench/import_csv.py                 # 10,000 rows, SQLite
    DATABASE_URL=postgresql://… .venv/bin/python bench/import_csv.py --rows 10000

Not part of the test suite (pytest collects tests/ only).
"""

from __future__ import annotations

import argparse
import re
import time
import uuid

from harness import Client, audit, csrf_token, demo_env, gunicorn, sign_in_demo

OWNER = "owner@brightpath.example.com"
RUN = re.compile(r"/settings/import/(\d+)")


def families_csv(rows: int) -> bytes:
    lines = ["Parent name,Parent email,Student first name,Student last name,Grade,School"]
    lines += [
        f"Parent {n},bench.parent{n}@example.com,Kid{n},Bench{n % 997},{n % 12 + 1},School {n % 40}"
        for n in range(rows)
    ]
    return ("\r\n".join(lines) + "\r\n").encode()


def balances_csv(rows: int) -> bytes:
    lines = [
        "Parent email,Student first name,Student last name,Package name,Service,"
        "Total hours,Remaining hours"
    ]
    lines += [
        f"bench.parent{n}@example.com,Kid{n},Bench{n % 997},Moved in,Tutoring,10,7.5"
        for n in range(rows)
    ]
    return ("\r\n".join(lines) + "\r\n").encode()


def multipart(fields: dict[str, str], name: str, data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode()
        for key, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        "Content-Type: text/csv\r\n\r\n".encode()
        + data
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def timed(what: str, call, results: list[tuple[str, float, int]]):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    response, body = call()
    seconds = time.perf_counter() - started
    results.append((what, seconds, response.status))
    return response, body


def import_file(
    client: Client, kind: str, name: str, data: bytes, results: list[tuple[str, float, int]]
) -> None:
    _, page = client.request("GET", "/demo/admin/settings/import")
    token = csrf_token(page)
    body, content_type = multipart({"csrf_token": token, "kind": kind}, name, data)
    response, _ = timed(
        f"{name}: upload → preview",
        lambda: (
            client.conn.request(
                "POST",
                "/demo/admin/settings/import",
                body=body,
                headers={"Content-Type": content_type, "Cookie": _cookies(client)},
            )
            or _read(client)
        ),
        results,
    )
    location = response.getheader("Location") or ""
    found = RUN.search(location)
    if response.status != 303 or found is None:
        raise SystemExit(f"upload of {name} answered {response.status}")
    run = found.group(1)
    _, page = timed(
        f"{name}: preview page",
        lambda: client.request("GET", f"/demo/admin/settings/import/{run}"),
        results,
    )
    response, _ = timed(
        f"{name}: confirm (write)",
        lambda: client.request(
            "POST",
            f"/demo/admin/settings/import/{run}/confirm",
            f"csrf_token={csrf_token(page)}",
            {"Content-Type": "application/x-www-form-urlencoded"},
        ),
        results,
    )
    if response.status != 303:
        raise SystemExit(f"confirm of {name} answered {response.status}")


def _cookies(client: Client) -> str:
    return "; ".join(f"{k}={v}" for k, v in client.cookies.items())


def _read(client: Client):  # type: ignore[no-untyped-def]
    response = client.conn.getresponse()
    return response, response.read()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=10_000)
    args = parser.parse_args()
    families, balances = families_csv(args.rows), balances_csv(args.rows)
    print(
        f"families file: {len(families) / 1e6:.2f} MB, balances file: {len(balances) / 1e6:.2f} MB"
    )

    results: list[tuple[str, float, int]] = []
    with demo_env("prepbase-bench-import-") as env:
        with gunicorn(env, 1) as server:
            client = Client(server.port, sign_in_demo(server.port, OWNER))
            client.conn.timeout = 120
            import_file(client, "families", "families.csv", families, results)
            import_file(client, "balances", "balances.csv", balances, results)
            import_file(client, "families", "families-again.csv", families, results)
        print(f"{'step':<40} {'seconds':>8}  status")
        for what, seconds, status in results:
            print(f"{what:<40} {seconds:>8.2f}  {status}")
        print(audit(env))


if __name__ == "__main__":
    main()

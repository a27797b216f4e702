"""Gatehouse imports a site that real Django and django-oauth-toolkit
built, then that site's people, apps and tokens work against Gatehouse:

- people sign in with their old passwords (every Django hasher a site may
  have used), and their hashes become argon2id;
- apps authenticate with their old secrets, hashed by DOT or kept in clear;
- an access token DOT issued reads /profile/ with the same id;
- a refresh token DOT issued refreshes;
- expired tokens were left behind.

Usage: test_import.py GATEHOUSE_BINARY [--source postgres://…/db]
Exit status 0 when every check passed.
"""

import argparse
import base64
import json
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    if not ok:
        failures.append(what)


def stop(servers):
    for server in servers:
        server.terminate()
        server.wait(timeout=30)


def verdict(what, log_name):
    """The exit status: 0 when no check failed."""
    if failures:
        print(f"{len(failures)} check(s) failed; logs: {log_name}")
        return 1
    print(f"all {what} checks passed")
    return 0


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(base, path, form=None, basic=None, bearer=None):
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    req = urllib.request.Request(base + path, data=data)
    if basic:
        pair = f"{urllib.parse.quote(basic[0], safe='')}:{urllib.parse.quote(basic[1], safe='')}"
        req.add_header("Authorization", "Basic " + base64.b64encode(pair.encode()).decode())
    if bearer:
        req.add_header("Authorization", "Bearer " + bearer)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, decoded(r.read())
    except urllib.error.HTTPError as e:
        return e.code, decoded(e.read())


def decoded(body):
    """JSON when the body is JSON, else its text."""
    try:
        return json.loads(body)
    except ValueError:
        return body.decode(errors="replace")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("gatehouse")
    parser.add_argument("--source", help="build the DOT site on this PostgreSQL database")
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="gatehouse-import-")
    source = args.source or os.path.join(work, "dot.sqlite3")
    manifest_path = os.path.join(work, "manifest.json")
    subprocess.run(
        [sys.executable, os.path.join(HERE, "make_dot_db.py"), source, manifest_path],
        check=True,
        cwd=HERE,
    )
    manifest = json.load(open(manifest_path))
    db_path = os.path.join(work, "gatehouse.db")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = dict(
        os.environ,
        GATEHOUSE_DATABASE_URL=f"sqlite://{db_path}",
        GATEHOUSE_MAIL_OUTBOX=os.path.join(work, "outbox"),
        GATEHOUSE_BIND=f"127.0.0.1:{port}",
        GATEHOUSE_PUBLIC_URL=base,
        RUST_LOG="warn",
    )
    started = time.monotonic()
    imported = subprocess.run(
        [args.gatehouse, "import", "django", "--database", source, "--json"],
        env=env,
        capture_output=True,
        text=True,
    )
    print(imported.stdout + imported.stderr)
    check(imported.returncode == 0, "gatehouse import django succeeded")
    if imported.returncode != 0:
        return 1
    summary = json.loads(imported.stdout)
    check(summary["users"]["new"] == 5, "5 users imported")
    check(summary["applications"]["new"] == 3, "3 applications imported")
    check(summary["access_tokens"] == {"new": 2, "updated": 0, "unchanged": 0, "removed": 0, "skipped": 1},
          "2 live access tokens imported, the expired one skipped")
    check(summary["refresh_tokens"]["new"] == 1, "1 refresh token imported")
    print(f"import took {time.monotonic() - started:.1f} s")

    log = open(os.path.join(work, "server.log"), "w")
    server = subprocess.Popen([args.gatehouse, "serve"], env=env, stdout=log, stderr=log)
    try:
        for _ in range(150):
            try:
                if call(base, "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.2)
        apps = manifest["apps"]
        items = (apps["Items API"]["client_id"], apps["Items API"]["client_secret"])
        for name, user in manifest["users"].items():
            status, body = call(
                base,
                "/o/token/",
                {"grant_type": "password", "username": name, "password": user["password"],
                 "scope": "read"},
                basic=items,
            )
            check(status == 200, f"{name} signs in with the old {user['hash']} password ({status} {body})")
            status, _ = call(base, "/o/token/",
                             {"grant_type": "password", "username": name, "password": "wrong",
                              "scope": "read"}, basic=items)
            check(status == 400, f"{name}: a wrong password is refused")
        db = sqlite3.connect(db_path)
        hashes = dict(db.execute("SELECT username, password_hash FROM users").fetchall())
        check(all(h.startswith("$argon2id$") for h in hashes.values()),
              "every password that was used is now argon2id")

        notebook = (apps["Notebook"]["client_id"], apps["Notebook"]["client_secret"])
        status, body = call(base, "/o/token/",
                            {"grant_type": "refresh_token", "refresh_token": manifest["tokens"]["refresh"]},
                            basic=notebook)
        check(status == 200 and "access_token" in body,
              f"DOT's refresh token refreshes, with the DOT-hashed secret ({status})")
        service = (apps["Service"]["client_id"], apps["Service"]["client_secret"])
        status, body = call(base, "/o/token/", {"grant_type": "client_credentials"}, basic=service)
        check(status == 200, f"an app with a DOT-hashed secret gets client credentials ({status} {body})")
        stored = dict(db.execute("SELECT client_id, secret_digest FROM applications").fetchall())
        check(len(stored[notebook[0]]) == 64 and "$" not in stored[notebook[0]],
              "a DOT-hashed secret, once used, is stored as SHA-256")
        status, _ = call(base, "/o/token/", {"grant_type": "client_credentials"},
                         basic=(service[0], "not the secret"))
        check(status == 401, "a wrong secret is refused")

        status, body = call(base, "/profile/", bearer=manifest["tokens"]["access"])
        check(status == 200 and body.get("id") == manifest["tokens"]["user_id"],
              f"DOT's access token reads /profile/ with the same id ({status} {body})")
        status, _ = call(base, "/profile/", bearer=manifest["tokens"]["expired"])
        check(status == 401, "an expired DOT token was not imported")
    finally:
        stop([server])
    return verdict("import", log.name)


if __name__ == "__main__":
    sys.exit(main())

"""A Django REST framework resource server written for django-oauth-toolkit
(items_site.py: DOT's introspection-based resource server, user endpoints
forwarding to the authorization server) runs unchanged against Gatehouse
with `account_identifier = "email"`:

- people sign up through it (email and password only), many from its one
  address, and sign in through it (the password grant) with their email;
- its items API accepts their tokens (checked by introspection at
  Gatehouse) and keys its local users on introspection's `username`, the
  email;
- refresh and password change go through it.

Usage: test_resource_server.py GATEHOUSE_BINARY. Exit status 0 when every
check passed.
"""

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

from test_import import check, free_port, stop, verdict

HERE = os.path.dirname(os.path.abspath(__file__))
PASSWORD = "correct horse battery staple"


def send(method, url, data=None, bearer=None):
    body = json.dumps(data).encode() if data is not None else None
    request = urllib.request.Request(url, data=body, method=method)
    request.add_header("Content-Type", "application/json")
    if bearer:
        request.add_header("Authorization", "Bearer " + bearer)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as error:
        raw = error.read()
        try:
            return error.code, json.loads(raw)
        except ValueError:
            return error.code, raw.decode(errors="replace")


def wait_for(url):
    for _ in range(150):
        try:
            with urllib.request.urlopen(url, timeout=2):
                return True
        except urllib.error.HTTPError:
            return True
        except OSError:
            time.sleep(0.2)
    return False


def main():
    gatehouse = sys.argv[1]
    work = tempfile.mkdtemp(prefix="gatehouse-rs-")
    gh_port, rs_port = free_port(), free_port()
    gh = f"http://127.0.0.1:{gh_port}"
    rs = f"http://127.0.0.1:{rs_port}"
    env = dict(
        os.environ,
        GATEHOUSE_DATABASE_URL=f"sqlite://{work}/gatehouse.db",
        GATEHOUSE_MAIL_OUTBOX=os.path.join(work, "outbox"),
        GATEHOUSE_BIND=f"127.0.0.1:{gh_port}",
        GATEHOUSE_PUBLIC_URL=gh,
        GATEHOUSE_ACCOUNT_IDENTIFIER="email",
        RUST_LOG="warn",
    )
    # The resource server's app, with the short secret its settings hold.
    created = subprocess.run(
        [gatehouse, "app", "create", "--name", "Items API", "--client-type", "confidential",
         "--grant-types", "password,refresh_token", "--scopes", "read write introspection",
         "--client-id", "rs", "--client-secret", "rs-secret", "--allow-weak-secret", "--json"],
        env=env, capture_output=True, text=True,
    )
    check(created.returncode == 0, f"the resource server's app is registered ({created.stderr.strip()})")
    logs = open(os.path.join(work, "servers.log"), "w")
    servers = [subprocess.Popen([gatehouse, "serve"], env=env, stdout=logs, stderr=logs)]
    rs_env = dict(os.environ, GATEHOUSE_URL=gh, RS_CLIENT_ID="rs", RS_CLIENT_SECRET="rs-secret",
                  ITEMS_DB=os.path.join(work, "items.sqlite3"))
    servers.append(subprocess.Popen(
        [sys.executable, os.path.join(HERE, "items_site.py"), f"127.0.0.1:{rs_port}"],
        env=rs_env, cwd=HERE, stdout=logs, stderr=logs,
    ))
    try:
        check(wait_for(gh + "/healthz") and wait_for(rs + "/items/"), "both servers answer")
        # Twelve people sign up through the resource server, one address.
        for i in range(12):
            code, body = send("POST", rs + "/users/signup/",
                              {"email": f"person{i}@lab.example", "password": PASSWORD,
                               "password2": PASSWORD})
            if code != 201:
                break
        check(code == 201 and body.get("username") == "person11@lab.example",
              f"12 sign-ups forwarded from one address all succeed; the username is the email ({code} {body})")
        code, body = send("POST", rs + "/users/signup/",
                          {"email": "person0@lab.example", "password": PASSWORD, "password2": "other"})
        check(code == 400 and "password2" in body, f"a mismatched password2 comes back as DRF errors ({code} {body})")

        code, tokens = send("POST", rs + "/users/token/",
                            {"email": "person0@lab.example", "password": PASSWORD})
        check(code == 200 and "access_token" in tokens, f"sign-in through the resource server ({code})")
        access = tokens.get("access_token", "")
        code, item = send("POST", rs + "/items/", {"name": "microscope"}, bearer=access)
        check(code == 201 and item.get("owner") == "person0@lab.example",
              f"the items API takes the token; its local user is the email ({code} {item})")
        code, listed = send("GET", rs + "/items/", bearer=access)
        check(code == 200 and [i["name"] for i in listed] == ["microscope"], f"items are listed ({code} {listed})")
        code, _ = send("GET", rs + "/items/")
        check(code in (401, 403), f"no token, no items ({code})")
        code, _ = send("GET", rs + "/items/", bearer="not-a-token")
        check(code in (401, 403), f"an unknown token, no items ({code})")

        code, refreshed = send("POST", rs + "/users/token/", {"refresh_token": tokens.get("refresh_token", "")})
        check(code == 200 and "access_token" in refreshed, f"refresh through the resource server ({code})")
        new_password = "a brand new passphrase 42"
        code, body = send("PUT", rs + "/users/password/",
                          {"old_password": PASSWORD, "password": new_password, "password2": new_password},
                          bearer=refreshed.get("access_token"))
        check(code == 200, f"password change through the resource server ({code} {body})")
        code, _ = send("POST", rs + "/users/token/", {"email": "person0@lab.example", "password": PASSWORD})
        check(code == 400, f"the old password no longer signs in ({code})")
        code, _ = send("POST", rs + "/users/token/", {"email": "person0@lab.example", "password": new_password})
        check(code == 200, f"the new one does ({code})")
    finally:
        stop(servers)
    return verdict("resource server", logs.name)


if __name__ == "__main__":
    sys.exit(main())

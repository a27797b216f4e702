"""A Django site that signs people in with django-allauth and custom
Gatehouse providers (allauth_site.py; the token sent in the header to
/profile/, and in the query to /api/profile/) signs a person in through
Gatehouse in Chromium (allauth_signin.js), and stores Gatehouse's account
id as the person's identity.

Usage: test_allauth.py GATEHOUSE_BINARY. Exit status 0 when every check
passed.
"""

import json
import os
import subprocess
import sys
import tempfile

from test_import import check, free_port, stop, verdict
from test_resource_server import wait_for

HERE = os.path.dirname(os.path.abspath(__file__))
PASSWORD = "correct horse battery staple"


def main():
    gatehouse = sys.argv[1]
    work = tempfile.mkdtemp(prefix="gatehouse-allauth-")
    gh_port, site_port = free_port(), free_port()
    gh = f"http://127.0.0.1:{gh_port}"
    site = f"http://127.0.0.1:{site_port}"
    env = dict(
        os.environ,
        GATEHOUSE_DATABASE_URL=f"sqlite://{work}/gatehouse.db",
        GATEHOUSE_MAIL_OUTBOX=os.path.join(work, "outbox"),
        GATEHOUSE_BIND=f"127.0.0.1:{gh_port}",
        GATEHOUSE_PUBLIC_URL=gh,
        RUST_LOG="warn",
    )
    people = {}
    for name in ("ada", "grace"):
        made = subprocess.run(
            [gatehouse, "user", "create", "--username", name, "--email", f"{name}@lab.example",
             "--password-stdin", "--json"],
            input=PASSWORD + "\n", env=env, capture_output=True, text=True,
        )
        check(made.returncode == 0, f"{name}'s account is made ({made.stderr.strip()})")
        people[name] = json.loads(made.stdout)["id"]
    site_env = dict(os.environ, GATEHOUSE_URL=gh, SITE_DB=os.path.join(work, "site.sqlite3"))
    for provider, var in (("gatehouse", "GH_HEADER"), ("gatehouse_query", "GH_QUERY")):
        app = subprocess.run(
            [gatehouse, "app", "create", "--name", f"Lab site ({provider})",
             "--client-type", "confidential", "--grant-types", "authorization_code,refresh_token",
             "--redirect-uris", f"{site}/accounts/{provider}/login/callback/",
             "--scopes", "read", "--json"],
            env=env, capture_output=True, text=True,
        )
        check(app.returncode == 0, f"the site's {provider} app is registered ({app.stderr.strip()})")
        app = json.loads(app.stdout)
        site_env[f"{var}_ID"] = app["client_id"]
        site_env[f"{var}_SECRET"] = app["client_secret"]
    logs = open(os.path.join(work, "servers.log"), "w")
    servers = [subprocess.Popen([gatehouse, "serve"], env=env, stdout=logs, stderr=logs)]
    servers.append(subprocess.Popen(
        [sys.executable, os.path.join(HERE, "allauth_site.py"), f"127.0.0.1:{site_port}"],
        env=site_env, cwd=HERE, stdout=logs, stderr=logs,
    ))
    try:
        check(wait_for(gh + "/healthz") and wait_for(site + "/whoami/"), "both servers answer")
        signed = subprocess.run(
            ["node", os.path.join(HERE, "allauth_signin.js"), site, PASSWORD,
             "gatehouse=ada", "gatehouse_query=grace"],
            capture_output=True, text=True, timeout=240,
        )
        print(signed.stdout + signed.stderr)
        lines = dict(line.split(": ", 1) for line in signed.stdout.splitlines() if ": " in line)
        for provider, name in (("gatehouse", "ada"), ("gatehouse_query", "grace")):
            said = lines.get(provider, "")
            check(said.startswith(f"signed in as {name} <{name}@lab.example>")
                  and f"{provider}:{people[name]}" in said,
                  f"allauth ({provider}) signs {name} in, with Gatehouse's id {people[name]} "
                  f"as the identity ({said})")
    finally:
        stop(servers)
    return verdict("allauth", logs.name)


if __name__ == "__main__":
    sys.exit(main())

"""Builds a django-oauth-toolkit database with Django and DOT themselves
(`migrate`, the ORM, Django's hashers), and writes what the tests need to
know in clear (passwords, secrets, tokens) as JSON.

Usage:
  make_dot_db.py DATABASE MANIFEST.json          a small site, every case
  make_dot_db.py DATABASE MANIFEST.json --users N   N people (for timing)
"""

import argparse
import json
from datetime import timedelta


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("database")
    parser.add_argument("manifest")
    parser.add_argument("--users", type=int, default=0)
    args = parser.parse_args()

    import dot_site

    dot_site.configure(args.database)

    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.utils import timezone
    from oauth2_provider.models import AccessToken, Application, RefreshToken
    from oauthlib.common import generate_token

    call_command("migrate", verbosity=0)
    manifest = {"users": {}, "apps": {}, "tokens": {}}

    if args.users:
        # Many people, one hash computed once (each would cost ~0.5 s).
        hashed = make_password("same password for everyone")
        batch = []
        for i in range(args.users):
            batch.append(
                User(
                    username=f"person{i}",
                    email=f"person{i}@lab.example",
                    first_name="Person",
                    last_name=str(i),
                    password=hashed,
                )
            )
            if len(batch) == 5000:
                User.objects.bulk_create(batch)
                batch = []
        User.objects.bulk_create(batch)
        manifest["users"]["count"] = User.objects.count()
        json.dump(manifest, open(args.manifest, "w"))
        return

    people = {
        # username: (password, hasher)
        "ada": ("ada's django password", "default"),
        "grace": ("grace's argon2 password", "argon2"),
        "linus": ("linus bcrypt password", "bcrypt_sha256"),
        "edsger": ("edsger scrypt password", "scrypt"),
        "barbara": ("barbara sha1 password", "pbkdf2_sha1"),
    }
    for name, (password, hasher) in people.items():
        user = User.objects.create_user(name, f"{name}@lab.example")
        user.password = make_password(password, hasher=hasher)
        user.save()
        manifest["users"][name] = {
            "id": user.id,
            "password": password,
            "hash": user.password.split("$", 1)[0],
        }
    ada = User.objects.get(username="ada")

    # Secrets hashed by DOT (its default) and kept in clear (older sites).
    notebook_secret = generate_token()
    notebook = Application.objects.create(
        name="Notebook",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris="http://consumer.example/accounts/callback/",
        client_secret=notebook_secret,
        user=ada,
    )
    items = Application.objects.create(
        name="Items API",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_PASSWORD,
        client_secret="rs-secret",
        hash_client_secret=False,
    )
    service_secret = generate_token()
    service = Application.objects.create(
        name="Service",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
        client_secret=service_secret,
    )
    for app, secret in ((notebook, notebook_secret), (items, "rs-secret"), (service, service_secret)):
        manifest["apps"][app.name] = {
            "id": app.id,
            "client_id": app.client_id,
            "client_secret": secret,
            "stored": app.client_secret[:14],
        }

    now = timezone.now()
    reading = AccessToken.objects.create(
        user=ada,
        application=notebook,
        token=generate_token(),
        expires=now + timedelta(hours=1),
        scope="read write",
    )
    paired = AccessToken.objects.create(
        user=ada,
        application=notebook,
        token=generate_token(),
        expires=now + timedelta(hours=1),
        scope="read",
    )
    refresh = RefreshToken.objects.create(
        user=ada, application=notebook, token=generate_token(), access_token=paired
    )
    expired = AccessToken.objects.create(
        user=ada,
        application=notebook,
        token=generate_token(),
        expires=now - timedelta(hours=1),
        scope="read",
    )
    manifest["tokens"] = {
        "access": reading.token,
        "refresh": refresh.token,
        "expired": expired.token,
        "user_id": ada.id,
    }
    json.dump(manifest, open(args.manifest, "w"), indent=1)


if __name__ == "__main__":
    main()

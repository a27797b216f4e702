"""A minimal Django + django-oauth-toolkit site, configured in code, whose
database is the source of Gatehouse's import tests. Only its models and
migrations are used: it never serves HTTP."""

import django
from django.conf import settings


def configure(database):
    """Sets Django up on `database`: a SQLite path, or a postgres:// URL."""
    if database.startswith(("postgres://", "postgresql://")):
        from urllib.parse import urlparse

        url = urlparse(database)
        db = {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": url.path.lstrip("/"),
            "USER": url.username or "postgres",
            "HOST": url.hostname or "127.0.0.1",
            "PORT": str(url.port or 5432),
        }
    else:
        db = {"ENGINE": "django.db.backends.sqlite3", "NAME": database}
    settings.configure(
        INSTALLED_APPS=[
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "oauth2_provider",
        ],
        DATABASES={"default": db},
        USE_TZ=True,
        SECRET_KEY="interop-test-only",
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
        # Django's default first; the others as a site that changed its
        # setting over the years would have them.
        PASSWORD_HASHERS=[
            "django.contrib.auth.hashers.PBKDF2PasswordHasher",
            "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
            "django.contrib.auth.hashers.Argon2PasswordHasher",
            "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
            "django.contrib.auth.hashers.ScryptPasswordHasher",
        ],
    )
    django.setup()

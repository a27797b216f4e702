"""A Django site that signs people in with django-allauth through Gatehouse,
with the custom providers of gatehouse_provider/ (token in the header, and
in the query). /whoami/ shows who is signed in and under which remote id.

Run: allauth_site.py ADDRESS (environment: GATEHOUSE_URL, the client ids
and secrets GH_HEADER_ID, GH_HEADER_SECRET, GH_QUERY_ID, GH_QUERY_SECRET,
and SITE_DB).
"""

import os
import sys

import django
from django.conf import settings

settings.configure(
    DEBUG=False,
    ALLOWED_HOSTS=["127.0.0.1", "localhost"],
    SECRET_KEY="interop-test-only",
    ROOT_URLCONF=__name__,
    USE_TZ=True,
    DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
    INSTALLED_APPS=[
        "django.contrib.auth",
        "django.contrib.contenttypes",
        "django.contrib.sessions",
        "django.contrib.messages",
        "allauth",
        "allauth.account",
        "allauth.socialaccount",
        "gatehouse_provider",
    ],
    MIDDLEWARE=[
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "django.contrib.messages.middleware.MessageMiddleware",
        "allauth.account.middleware.AccountMiddleware",
    ],
    TEMPLATES=[
        {
            "BACKEND": "django.template.backends.django.DjangoTemplates",
            "APP_DIRS": True,
            "OPTIONS": {
                "context_processors": [
                    "django.template.context_processors.request",
                    "django.contrib.auth.context_processors.auth",
                    "django.contrib.messages.context_processors.messages",
                ]
            },
        }
    ],
    AUTHENTICATION_BACKENDS=["allauth.account.auth_backends.AuthenticationBackend"],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["SITE_DB"]}},
    LOGIN_REDIRECT_URL="/whoami/",
    SOCIALACCOUNT_LOGIN_ON_GET=True,
    SOCIALACCOUNT_AUTO_SIGNUP=True,
    ACCOUNT_EMAIL_VERIFICATION="none",
    SOCIALACCOUNT_PROVIDERS={
        "gatehouse": {
            "APPS": [{"client_id": os.environ["GH_HEADER_ID"], "secret": os.environ["GH_HEADER_SECRET"]}],
            "OAUTH_PKCE_ENABLED": True,
        },
        "gatehouse_query": {
            "APPS": [{"client_id": os.environ["GH_QUERY_ID"], "secret": os.environ["GH_QUERY_SECRET"]}],
            "OAUTH_PKCE_ENABLED": True,
        },
    },
)
django.setup()

from django.http import HttpResponse  # noqa: E402
from django.urls import include, path  # noqa: E402


def whoami(request):
    if not request.user.is_authenticated:
        return HttpResponse("signed out", content_type="text/plain")
    remote = [f"{a.provider}:{a.uid}" for a in request.user.socialaccount_set.all()]
    return HttpResponse(
        f"signed in as {request.user.username} <{request.user.email}> via {' '.join(remote)}",
        content_type="text/plain",
    )


urlpatterns = [
    path("whoami/", whoami),
    path("accounts/", include("allauth.urls")),
]

if __name__ == "__main__":
    from django.core.management import call_command, execute_from_command_line

    call_command("migrate", verbosity=0)
    execute_from_command_line([sys.argv[0], "runserver", "--noreload", sys.argv[1]])

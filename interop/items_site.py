"""A resource server in the style of django-oauth-toolkit's tutorial: Django
REST framework with DOT as a resource server only. Its tokens are checked by
introspection at Gatehouse (RESOURCE_SERVER_INTROSPECTION_URL, with its own
client credentials), and its user endpoints forward sign-up, sign-in (the
password grant), refresh and password change to Gatehouse, with its client
credentials, as such a site does. It serves an items API.

Run: items_site.py ADDRESS (environment: GATEHOUSE_URL, RS_CLIENT_ID,
RS_CLIENT_SECRET, ITEMS_DB).
"""

import base64
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request

import django
from django.conf import settings

GATEHOUSE = os.environ["GATEHOUSE_URL"].rstrip("/")
CLIENT = (os.environ["RS_CLIENT_ID"], os.environ["RS_CLIENT_SECRET"])

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
        "oauth2_provider",
        "rest_framework",
        "items",
    ],
    MIDDLEWARE=[],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["ITEMS_DB"]}},
    OAUTH2_PROVIDER={
        "RESOURCE_SERVER_INTROSPECTION_URL": f"{GATEHOUSE}/o/introspect/",
        "RESOURCE_SERVER_INTROSPECTION_CREDENTIALS": CLIENT,
        "SCOPES": {"read": "Read", "write": "Write"},
    },
    REST_FRAMEWORK={
        "DEFAULT_AUTHENTICATION_CLASSES": [
            "oauth2_provider.contrib.rest_framework.OAuth2Authentication"
        ],
        "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
        "UNAUTHENTICATED_USER": None,
    },
)
django.setup()

from django.urls import path  # noqa: E402
from oauth2_provider.contrib.rest_framework import TokenHasReadWriteScope  # noqa: E402
from rest_framework import permissions, serializers, status  # noqa: E402
from rest_framework.response import Response  # noqa: E402
from rest_framework.views import APIView  # noqa: E402

from items.models import Item  # noqa: E402


def forward(method, path, form, bearer=None):
    """Sends `form` to Gatehouse; returns its status and JSON answer."""
    request = urllib.request.Request(
        GATEHOUSE + path, data=urllib.parse.urlencode(form).encode(), method=method
    )
    if bearer:
        request.add_header("Authorization", "Bearer " + bearer)
    else:
        pair = ":".join(urllib.parse.quote(p, safe="") for p in CLIENT)
        request.add_header("Authorization", "Basic " + base64.b64encode(pair.encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


class SignUp(APIView):
    permission_classes = [permissions.AllowAny]
    authentication_classes = []

    def post(self, request):
        fields = {k: request.data.get(k, "") for k in ("email", "password", "password2")}
        code, body = forward("POST", "/users/signup/", fields)
        return Response(body, status=code)


class Token(APIView):
    """Sign-in with email and password (the password grant), or a refresh."""

    permission_classes = [permissions.AllowAny]
    authentication_classes = []

    def post(self, request):
        if "refresh_token" in request.data:
            form = {"grant_type": "refresh_token", "refresh_token": request.data["refresh_token"]}
        else:
            form = {
                "grant_type": "password",
                "username": request.data.get("email", ""),
                "password": request.data.get("password", ""),
                "scope": "read write",
            }
        code, body = forward("POST", "/o/token/", form)
        return Response(body, status=code)


class Password(APIView):
    def put(self, request):
        fields = {k: request.data.get(k, "") for k in ("old_password", "password", "password2")}
        token = request.auth.token
        code, body = forward("PUT", "/users/password/", fields, bearer=token)
        return Response(body, status=code)


class ItemSerializer(serializers.ModelSerializer):
    owner = serializers.ReadOnlyField(source="owner.username")

    class Meta:
        model = Item
        fields = ["id", "name", "owner"]


class Items(APIView):
    permission_classes = [permissions.IsAuthenticated, TokenHasReadWriteScope]

    def get(self, request):
        items = Item.objects.filter(owner=request.user).order_by("id")
        return Response(ItemSerializer(items, many=True).data)

    def post(self, request):
        serializer = ItemSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        serializer.save(owner=request.user)
        return Response(serializer.data, status=status.HTTP_201_CREATED)


urlpatterns = [
    path("users/signup/", SignUp.as_view()),
    path("users/token/", Token.as_view()),
    path("users/password/", Password.as_view()),
    path("items/", Items.as_view()),
]

if __name__ == "__main__":
    from django.core.management import call_command, execute_from_command_line

    call_command("migrate", run_syncdb=True, verbosity=0)
    execute_from_command_line([sys.argv[0], "runserver", "--noreload", sys.argv[1]])

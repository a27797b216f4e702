"""The providers' login and callback URLs; allauth includes them under
/accounts/."""

from django.urls import path

from . import views

urlpatterns = [
    path("gatehouse/login/", views.header_login, name="gatehouse_login"),
    path("gatehouse/login/callback/", views.header_callback, name="gatehouse_callback"),
    path("gatehouse_query/login/", views.query_login, name="gatehouse_query_login"),
    path(
        "gatehouse_query/login/callback/",
        views.query_callback,
        name="gatehouse_query_callback",
    ),
]

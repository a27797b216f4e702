import os

import requests
from allauth.socialaccount.providers.oauth2.views import (
    OAuth2Adapter,
    OAuth2CallbackView,
    OAuth2LoginView,
)

SERVER = os.environ["GATEHOUSE_URL"].rstrip("/")


class HeaderAdapter(OAuth2Adapter):
    provider_id = "gatehouse"
    access_token_url = SERVER + "/o/token/"
    authorize_url = SERVER + "/o/authorize/"
    profile_url = SERVER + "/profile/"

    def fetch_profile(self, token):
        return requests.get(
            self.profile_url, headers={"Authorization": "Bearer " + token.token}, timeout=30
        )

    def complete_login(self, request, app, token, **kwargs):
        response = self.fetch_profile(token)
        response.raise_for_status()
        return self.get_provider().sociallogin_from_response(request, response.json())


class QueryAdapter(HeaderAdapter):
    provider_id = "gatehouse_query"
    profile_url = SERVER + "/api/profile/"

    def fetch_profile(self, token):
        return requests.get(self.profile_url, params={"access_token": token.token}, timeout=30)


header_login = OAuth2LoginView.adapter_view(HeaderAdapter)
header_callback = OAuth2CallbackView.adapter_view(HeaderAdapter)
query_login = OAuth2LoginView.adapter_view(QueryAdapter)
query_callback = OAuth2CallbackView.adapter_view(QueryAdapter)

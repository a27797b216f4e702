"""Two django-allauth providers for Gatehouse, as a site that used
django-oauth-toolkit writes them: one reads the profile with the token in
the Authorization header, the other with the token as an `access_token`
query parameter (which oauthlib accepts and some providers use)."""

from allauth.socialaccount.providers.base import ProviderAccount
from allauth.socialaccount.providers.oauth2.provider import OAuth2Provider

from .views import HeaderAdapter, QueryAdapter


class GatehouseAccount(ProviderAccount):
    def to_str(self):
        return self.account.extra_data.get("username", super().to_str())


class GatehouseProvider(OAuth2Provider):
    id = "gatehouse"
    name = "Gatehouse"
    account_class = GatehouseAccount
    oauth2_adapter_class = HeaderAdapter

    def get_default_scope(self):
        return ["read"]

    def extract_uid(self, data):
        # The account's id, as such sites store it: it must not change.
        return str(data["id"])

    def extract_common_fields(self, data):
        return {
            "username": data.get("username"),
            "email": data.get("email"),
            "first_name": data.get("first_name"),
            "last_name": data.get("last_name"),
        }


class GatehouseQueryProvider(GatehouseProvider):
    id = "gatehouse_query"
    name = "Gatehouse (token in the query)"
    oauth2_adapter_class = QueryAdapter

    def extract_uid(self, data):
        return str(data["user_id"])


provider_classes = [GatehouseProvider, GatehouseQueryProvider]

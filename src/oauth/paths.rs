//! The protocol endpoints' paths: one definition each, used by the
//! server's router, the discovery document and the portal's links. They
//! keep django-oauth-toolkit's layout (`/o/…/` with a trailing slash), so
//! clients written for it work unchanged.

/// The authorization endpoint (RFC 6749 §3.1), a portal page.
pub const AUTHORIZE: &str = "/o/authorize/";
/// The token endpoint (RFC 6749 §3.2).
pub const TOKEN: &str = "/o/token/";
/// Token revocation (RFC 7009).
pub const REVOKE: &str = "/o/revoke_token/";
/// Token introspection (RFC 7662).
pub const INTROSPECT: &str = "/o/introspect/";
/// OpenID Connect userinfo.
pub const USERINFO: &str = "/o/userinfo/";
/// The public signing keys.
pub const JWKS: &str = "/o/.well-known/jwks.json";
/// OpenID Connect RP-initiated logout, a portal page.
pub const END_SESSION: &str = "/o/logout/";
/// Device authorization (RFC 8628 §3.1).
pub const DEVICE_AUTHORIZATION: &str = "/o/device-authorization/";
/// Authorization server metadata (RFC 8414).
pub const OAUTH_METADATA: &str = "/.well-known/oauth-authorization-server";
/// OpenID Connect discovery, where the specification puts it.
pub const DISCOVERY: &str = "/.well-known/openid-configuration";
/// OpenID Connect discovery under django-oauth-toolkit's prefix.
pub const DISCOVERY_UNDER_O: &str = "/o/.well-known/openid-configuration";
/// The account of a bearer token as JSON, where the replaced site's
/// clients (django-allauth's provider, for one) read it.
pub const BEARER_PROFILE: &str = "/profile/";
/// The same answer under the account API's prefix.
pub const API_BEARER_PROFILE: &str = "/api/profile/";

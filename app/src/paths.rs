//! Portal paths, shared by the router, the links and the server's handlers.

pub const HOME: &str = "/";
pub const SIGNUP: &str = "/accounts/signup/";
pub const LOGIN: &str = "/accounts/login/";
pub const LOGOUT: &str = "/accounts/logout/";
pub const PROFILE: &str = "/accounts/profile/";
pub const AUTHORIZE: &str = "/o/authorize/";
pub const RP_LOGOUT: &str = "/o/logout/";
pub const DEVICE: &str = "/device/";

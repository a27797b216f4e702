//! One module per page of the portal.

mod consent;
mod device;
mod home;
mod login;
mod logout;
mod not_found;
mod profile;
mod signup;

pub use consent::ConsentPage;
pub use device::DevicePage;
pub use home::HomePage;
pub use login::LoginPage;
pub use logout::LogoutPage;
pub use not_found::NotFound;
pub use profile::ProfilePage;
pub use signup::SignupPage;

//! One module per page of the portal.

mod activity;
mod admin;
mod apps;
mod authorized;
mod consent;
mod device;
mod home;
mod login;
mod logout;
mod not_found;
mod playground;
mod profile;
mod recovery;
mod signup;

pub use activity::{ActivityPage, AuditPage};
pub use admin::AdminPage;
pub use apps::{AppDetailPage, AppsPage, RegisterAppPage};
pub use authorized::AuthorizedAppsPage;
pub use consent::ConsentPage;
pub use device::DevicePage;
pub use home::HomePage;
pub use login::LoginPage;
pub use logout::LogoutPage;
pub use not_found::NotFound;
pub use playground::PlaygroundPage;
pub use profile::ProfilePage;
pub use recovery::{
    ConfirmEmailPage, PasswordResetCompletePage, PasswordResetConfirmPage, PasswordResetDonePage,
    PasswordResetPage, ResendVerificationPage, SignupDonePage,
};
pub use signup::SignupPage;

//! Pieces shared by several pages.

pub mod browser_try;
#[cfg(feature = "hydrate")]
pub mod call;
pub mod field;
pub mod form;
pub mod header;
pub mod live;
pub mod notice;
pub mod title;

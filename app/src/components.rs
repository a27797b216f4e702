//! Pieces shared by several pages.

pub mod field;
pub mod header;
pub mod notice;
pub mod title;

//! Pieces shared by several pages.

pub mod field;
pub mod form;
pub mod header;
pub mod live;
pub mod notice;
pub mod title;

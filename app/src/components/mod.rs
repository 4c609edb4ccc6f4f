//! Widgets shared by pages.

pub mod format;
pub mod layout;

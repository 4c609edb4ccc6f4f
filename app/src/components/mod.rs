//! Widgets shared by pages.

pub mod browser;
pub mod format;
pub mod layout;

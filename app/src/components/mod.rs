//! Widgets shared by pages.

pub mod browser;
pub mod fields;
pub mod format;
pub mod layout;
pub mod outcome;

//! Sign-in and the front door.

mod home;
mod sign_in;

pub use home::HomePage;
pub use sign_in::SignInPage;

//! Sign-in and the front door.

mod account;
mod home;
mod sign_in;

pub use account::AccountPage;
pub use home::HomePage;
pub use sign_in::SignInPage;

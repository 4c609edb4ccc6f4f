//! What became of a form posted without the page's code: the page the browser is sent back
//! to shows it, as it would have after a form sent by the code.
//!
//! Pages are drawn on the server and only their few interactive parts (islands) run in the
//! browser, so almost every form is a plain HTML form posting to its server function. The
//! server keeps the answer (the value, or the error with what was typed) in the session
//! and sends the browser back to the page ([`crate::ssr::outcome`]); drawing that page once,
//! [`form_action`] gives each form's action the answer as its value, and the browser puts
//! what was typed back into the form that failed ([`restore_fields`]).

use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// The answer to one form post, kept for the next page drawn in that session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormOutcome {
    /// The server function's path (`/api/...`), which is also the form's `action`.
    pub path: String,
    /// The answer as the server function encoded it: its value, or its error.
    pub answer: Result<String, String>,
    /// What the form sent, when it failed (never a password): put back into the form.
    pub fields: Vec<(String, String)>,
}

impl FormOutcome {
    /// Whether a field of this name is kept for the form to be filled in again: passwords
    /// (any field whose name says so, and the account page's `current` and `confirm`) are
    /// not, nor secrets or tokens.
    pub fn keeps(name: &str) -> bool {
        let name = name.to_ascii_lowercase();
        !["password", "secret", "token"].iter().any(|word| name.contains(word)) && !matches!(name.as_str(), "current" | "confirm")
    }
}

/// The page's data for the browser: the failed form and what it sent.
#[derive(Debug, Serialize, Deserialize)]
struct Retained {
    path: String,
    fields: Vec<(String, String)>,
}

const RETAINED_ID: &str = "form-retained";

/// The action of the server function `S` for a form, holding the answer to that form's
/// post when the page is drawn just after it.
pub fn form_action<S>() -> ServerAction<S>
where
    S: ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: DeserializeOwned + Send + Sync + 'static,
{
    let action = ServerAction::<S>::new();
    if let Some(answer) = answer_of::<S>() {
        action.value().set(Some(answer));
    }
    action
}

/// The answer to the post of `S`'s form just before this page, if it was one.
pub fn answer_of<S>() -> Option<Result<S::Output, AppError>>
where
    S: ServerFn<Error = AppError>,
    S::Output: DeserializeOwned,
{
    let outcome = current().filter(|o| o.path == S::PATH)?;
    Some(match outcome.answer {
        Ok(value) => serde_json::from_str(&value).map_err(|e| AppError::BadRequest(format!("the answer could not be read: {e}"))),
        Err(error) => Err(serde_json::from_str(&error).unwrap_or(AppError::Internal)),
    })
}

#[cfg(feature = "ssr")]
fn current() -> Option<FormOutcome> {
    use_context::<http::request::Parts>()?.extensions.get::<FormOutcome>().cloned()
}

#[cfg(not(feature = "ssr"))]
fn current() -> Option<FormOutcome> {
    None
}

/// What a failed form sent, for the browser to put back: a JSON data block (never run)
/// that [`restore_fields`] reads. Nothing when the last post did not fail.
#[component]
pub fn RetainedFields() -> impl IntoView {
    let retained = current().filter(|o| o.answer.is_err() && !o.fields.is_empty()).map(|o| Retained { path: o.path, fields: o.fields });
    retained.and_then(|r| serde_json::to_string(&r).ok()).map(|json| {
        // Inside <script>, only `</script` could end the block: JSON may write `<` as
        // `\u003c`, and does here for every one.
        let json = json.replace('<', "\\u003c").replace('>', "\\u003e").replace('&', "\\u0026");
        view! { <script type="application/json" id=RETAINED_ID inner_html=json></script> }
    })
}

/// In the browser: fills the form that failed with what it sent (a per-row form is the one
/// whose hidden fields match) and brings it into view, its error beside it.
#[cfg(feature = "hydrate")]
pub fn restore_fields() {
    use leptos::web_sys::{HtmlInputElement, HtmlSelectElement, HtmlTextAreaElement};
    use wasm_bindgen::JsCast;

    let document = document();
    let Some(data) = document.get_element_by_id(RETAINED_ID) else { return };
    let Ok(retained) = serde_json::from_str::<Retained>(&data.text_content().unwrap_or_default()) else { return };
    let fields = &retained.fields;
    let sent = |name: String| fields.iter().filter(move |(n, _)| *n == name).map(|(_, v)| v.as_str());
    let forms = document.forms();
    let form = (0..forms.length())
        .filter_map(|i| forms.item(i))
        .filter(|f| f.get_attribute("action").as_deref() == Some(&retained.path))
        .find(|form| {
            let inputs = form.get_elements_by_tag_name("input");
            (0..inputs.length())
                .filter_map(|i| inputs.item(i)?.dyn_into::<HtmlInputElement>().ok())
                .filter(|i| i.type_() == "hidden" && FormOutcome::keeps(&i.name()))
                .all(|i| sent(i.name()).any(|v| v == i.value()))
        });
    let Some(form) = form else { return };

    let inputs = form.get_elements_by_tag_name("input");
    for input in (0..inputs.length()).filter_map(|i| inputs.item(i)?.dyn_into::<HtmlInputElement>().ok()) {
        let name = input.name();
        if name.is_empty() || !FormOutcome::keeps(&name) {
            continue;
        }
        match input.type_().as_str() {
            "hidden" | "file" | "password" | "submit" | "button" | "reset" | "image" => {}
            "checkbox" | "radio" => {
                let value = input.value();
                input.set_checked(sent(name).any(|v| v == value));
            }
            _ => {
                if let Some(v) = sent(name).next() {
                    input.set_value(v);
                }
            }
        }
    }
    let areas = form.get_elements_by_tag_name("textarea");
    for area in (0..areas.length()).filter_map(|i| areas.item(i)?.dyn_into::<HtmlTextAreaElement>().ok()) {
        if let Some(v) = sent(area.name()).next() {
            area.set_value(v);
        }
    }
    let selects = form.get_elements_by_tag_name("select");
    for select in (0..selects.length()).filter_map(|i| selects.item(i)?.dyn_into::<HtmlSelectElement>().ok()) {
        if let Some(v) = sent(select.name()).next() {
            select.set_value(v);
        }
    }
    form.scroll_into_view_with_bool(false);
}

//! Form fields shared by the console's pages.

use leptos::prelude::*;

/// A labelled input with its error below it, the error read out with the field.
#[component]
pub fn TextField(
    id: &'static str,
    name: &'static str,
    label: &'static str,
    value: String,
    kind: &'static str,
    error: Signal<Option<String>>,
) -> impl IntoView {
    let error_id = format!("{id}-error");
    view! {
        <div class="field">
            <label for=id>{label}</label>
            <input id=id name=name type=kind value=value autocomplete="off" aria-describedby=error_id.clone()
                aria-invalid=move || error.get().is_some().to_string()/>
            <p class="field-error" id=error_id>{move || error.get()}</p>
        </div>
    }
}

//! What only the browser can do for a page: put text on the clipboard, select it, read a
//! file a person chose. Each is called from an event handler, so never on the server;
//! there they do nothing.

/// Puts `text` on the clipboard, then calls `done` with whether it worked. It does not
/// where the page has no clipboard (not HTTPS nor localhost) or the browser refused.
pub fn copy_text(text: &str, done: impl FnOnce(bool) + 'static) {
    #[cfg(feature = "hydrate")]
    {
        match js::write_text(text) {
            Ok(written) => {
                let written = wasm_bindgen_futures::JsFuture::from(written);
                leptos::task::spawn_local(async move { done(written.await.is_ok()) });
            }
            Err(_) => done(false),
        }
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = text;
        done(false);
    }
}

/// Selects all the text of `element`, for a person to copy it themselves.
pub fn select_contents(element: &leptos::web_sys::HtmlElement) {
    #[cfg(feature = "hydrate")]
    {
        if let Some(selection) = js::get_selection() {
            selection.select_all_children(element);
        }
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = element;
    }
}

/// Reads the file chosen in the `<input type="file">` whose `change` is `event`, as text,
/// and calls `done` with it; nothing happens when no file is chosen or it cannot be read.
pub fn read_chosen_file(event: &leptos::web_sys::Event, done: impl FnOnce(String) + 'static) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let file = event.target().map(|t| t.unchecked_into::<js::FileInput>()).and_then(|input| input.files()).and_then(|f| f.item(0));
        if let Some(file) = file {
            let text = wasm_bindgen_futures::JsFuture::from(file.text());
            leptos::task::spawn_local(async move {
                if let Some(content) = text.await.ok().and_then(|v| v.as_string()) {
                    done(content);
                }
            });
        }
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (event, done);
    }
}

/// The few browser APIs the helpers above need, bound here rather than through web-sys
/// features the build does not enable.
#[cfg(feature = "hydrate")]
mod js {
    use leptos::web_sys::js_sys::Promise;
    use wasm_bindgen::prelude::*;

    #[wasm_bindgen]
    extern "C" {
        /// `navigator.clipboard.writeText(text)`; throws where there is no clipboard.
        #[wasm_bindgen(catch, js_namespace = ["navigator", "clipboard"], js_name = writeText)]
        pub fn write_text(text: &str) -> Result<Promise, JsValue>;

        pub type Selection;

        #[wasm_bindgen(js_name = getSelection)]
        pub fn get_selection() -> Option<Selection>;

        #[wasm_bindgen(method, js_name = selectAllChildren)]
        pub fn select_all_children(this: &Selection, node: &leptos::web_sys::Node);

        /// An `<input type="file">`, for what was chosen in it.
        pub type FileInput;

        #[wasm_bindgen(method, getter)]
        pub fn files(this: &FileInput) -> Option<FileList>;

        pub type FileList;

        #[wasm_bindgen(method)]
        pub fn item(this: &FileList, index: u32) -> Option<ChosenFile>;

        /// A `File` (a `Blob`).
        pub type ChosenFile;

        /// `Blob.text()`: the contents as UTF-8.
        #[wasm_bindgen(method)]
        pub fn text(this: &ChosenFile) -> Promise;
    }
}

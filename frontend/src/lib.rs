//! The browser entry point: hydrates the server-rendered portal.

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
    // How long after navigation the page became interactive.
    if let Some(performance) = web_sys::window().and_then(|w| w.performance()) {
        let _ = performance.mark("gatehouse-hydrated");
    }
    // Marks the page once hydration has run (end-to-end tests wait for it).
    leptos::prelude::request_animation_frame(|| {
        if let Some(body) = leptos::prelude::document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
}

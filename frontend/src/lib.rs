//! The browser entry point: the islands of the server-rendered portal.
//! Leptos' island loader calls `hydrate` and then hydrates each island of
//! the page (the `#[island]` components of `app`, exported from here).

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    // Links the app crate, whose islands export their hydration functions.
    #[allow(unused_imports)]
    use app::*;
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
    // The loader hydrates the page's islands right after this returns,
    // each in a microtask; the next frame comes after all of them.
    leptos::prelude::request_animation_frame(|| {
        // How long after navigation the page became interactive.
        if let Some(performance) = web_sys::window().and_then(|w| w.performance()) {
            let _ = performance.mark("gatehouse-hydrated");
        }
        // Marks the page (end-to-end tests wait for it).
        if let Some(body) = leptos::prelude::document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
}

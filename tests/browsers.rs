//! The browser suites run in the engine their layer of `scripts/test` asks for.
//!
//! `wasm-pack test` picks its WebDriver from flags and environment variables, and a driver
//! may start another browser than the one named (WebKitWebDriver starts whatever its default
//! is). A layer that sets `POCKETRANK_BROWSER` (chromium, firefox or webkit) when it builds
//! the tests gets a failure here if the page's engine is not that one, so that "passes in
//! WebKit" cannot silently mean "passes in Chromium".
#![cfg(target_arch = "wasm32")]

use js_sys::Function;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// The engine family of a user agent string, as the layers name them.
fn engine_of(user_agent: &str) -> &'static str {
    if user_agent.contains("Firefox/") {
        "firefox"
    } else if user_agent.contains("Chrome/") || user_agent.contains("Chromium/") {
        "chromium"
    } else if user_agent.contains("AppleWebKit/") {
        "webkit"
    } else {
        "unknown"
    }
}

#[wasm_bindgen_test]
fn the_tests_run_in_the_engine_the_layer_asked_for() {
    let user_agent = Function::new_no_args("return navigator.userAgent")
        .call0(&wasm_bindgen::JsValue::NULL)
        .expect("navigator.userAgent")
        .as_string()
        .expect("a string");
    let engine = engine_of(&user_agent);
    match option_env!("POCKETRANK_BROWSER") {
        Some(wanted) => assert_eq!(engine, wanted, "user agent: {user_agent}"),
        None => assert_ne!(engine, "unknown", "user agent: {user_agent}"),
    }
}

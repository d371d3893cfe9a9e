//! Node.js tests: everything that needs no browser.
#![cfg(target_arch = "wasm32")]

use js_sys::{Reflect, JSON};
use pocketrank::wasm::{Catalog, Engine};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;

fn js(text: &str) -> JsValue {
    JSON::parse(text).expect("test JSON")
}

fn get(v: &JsValue, key: &str) -> JsValue {
    Reflect::get(v, &key.into()).unwrap()
}

fn catalog() -> Catalog {
    Catalog::from_json(r#"{"version":1,"fallback":"G","offers":[{"id":"RUN","tags":{"category:running":1}},{"id":"BAKE","tags":{"category:baking":1}},{"id":"KNIT","tags":{"category:knitting":1}},{"id":"SAIL","tags":{"category:sailing":1}},{"id":"G"}]}"#).unwrap()
}

#[wasm_bindgen_test]
fn without_a_window_open_works_in_memory_and_says_why() {
    let mut e = Engine::open(Some(
        js(r#"{"namespace":"node","seed":1}"#).unchecked_into(),
    ))
    .unwrap();
    let status: JsValue = e.status().into();
    assert_eq!(get(&status, "storage"), "memory");
    assert_eq!(get(&status, "code"), "storage.unavailable");
    e.record(js(r#"{"kind":"view","tags":["category:baking"]}"#).unchecked_into())
        .unwrap();
    assert_eq!(
        e.choose(&catalog(), None).unwrap().unwrap().offer_id(),
        "BAKE"
    );
}

#[wasm_bindgen_test]
fn the_same_seed_and_clock_give_the_same_decisions() {
    let run = || {
        let mut e = Engine::in_memory(Some(
            js(r#"{"seed":99,"now":1795910400000,"exploration":0.5}"#).unchecked_into(),
        ))
        .unwrap();
        e.record(js(r#"{"kind":"view","tags":["category:running"]}"#).unchecked_into())
            .unwrap();
        (0..20)
            .map(|_| {
                e.choose(&catalog(), Some(js(r#"{"preview":true}"#).unchecked_into()))
                    .unwrap()
                    .unwrap()
                    .offer_id()
            })
            .collect::<Vec<_>>()
    };
    let a = run();
    assert_eq!(a, run());
    assert!(
        a.iter().any(|id| id != "RUN"),
        "exploration at 0.5 shows something else in 20 draws"
    );
}

#[wasm_bindgen_test]
fn catalog_errors_are_error_objects_with_codes() {
    for (text, code) in [
        ("{", "catalog.invalid_json"),
        (
            r#"{"version":2,"offers":[]}"#,
            "catalog.unsupported_version",
        ),
        (
            r#"{"version":1,"offers":[{"id":"A"},{"id":"A"}]}"#,
            "catalog.duplicate_id",
        ),
        (
            r#"{"version":1,"offers":[{"id":"A","caps":{"perDay":-1}}]}"#,
            "catalog.invalid_cap",
        ),
        (
            r#"{"version":1,"offers":[{"id":"A"}],"fallback":"Z"}"#,
            "catalog.unknown_fallback",
        ),
    ] {
        let err = Catalog::from_json(text).unwrap_err();
        assert!(err.is_instance_of::<js_sys::Error>(), "{text}");
        assert_eq!(get(&err, "code"), code, "{text}");
    }
    let err = Catalog::from_object(JsValue::UNDEFINED.unchecked_ref()).unwrap_err();
    assert_eq!(get(&err, "code"), "catalog.invalid_json");
}

#[wasm_bindgen_test]
async fn a_report_to_an_unusable_url_rejects_with_a_report_code() {
    let mut e = Engine::in_memory(None).unwrap();
    let d = e.choose(&catalog(), None).unwrap().unwrap();
    assert_eq!(d.reason(), "fallback");
    let err = wasm_bindgen_futures::JsFuture::from(e.report(&d, "relative/without/base".into()))
        .await
        .unwrap_err();
    assert!(
        get(&err, "code")
            .as_string()
            .unwrap()
            .starts_with("report."),
        "{err:?}"
    );
}

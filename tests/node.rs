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
    // Noised reports: with exact ones the same question gets its remembered answer all week,
    // so the draws would all be the first one.
    let run = || {
        let mut e = Engine::in_memory(Some(
            js(r#"{"seed":99,"now":1795910400000,"exploration":0.5,"privacy":{"epsilon":1}}"#)
                .unchecked_into(),
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

#[wasm_bindgen_test]
fn errors_are_instances_of_the_exported_class_with_structured_fields() {
    use pocketrank::wasm::PocketrankError;
    let err = Catalog::from_json(r#"{"version":1,"offers":[{"id":"A","caps":{"perDay":25}}]}"#)
        .unwrap_err();
    assert!(err.is_instance_of::<PocketrankError>(), "{err:?}");
    assert!(err.is_instance_of::<js_sys::Error>());
    assert_eq!(get(&err, "name"), "PocketrankError");
    assert_eq!(get(&err, "code"), "catalog.invalid_cap");
    assert_eq!(get(&err, "offer"), 0.0);
    assert_eq!(get(&err, "field"), "caps.perDay");
    assert_eq!(get(&err, "limit"), 20.0);
    assert_eq!(get(&err, "value"), 25.0);
}

#[wasm_bindgen_test]
fn messages_are_in_the_api_s_words_not_serde_s() {
    let message = |err: JsValue| get(&err, "message").as_string().unwrap();
    let mut e = Engine::in_memory(None).unwrap();
    // A string where an event belongs.
    let m = message(
        e.record(JsValue::from_str("x").unchecked_into())
            .unwrap_err(),
    );
    assert!(m.contains("an event is an object"), "{m}");
    assert!(!m.contains("struct"), "{m}");
    // Tags of the wrong type name the field.
    let err = e
        .record(js(r#"{"kind":"view","tags":"category:x"}"#).unchecked_into())
        .unwrap_err();
    assert_eq!(get(&err, "field"), "tags");
    assert!(!message(err).contains("expected"));
    // An object without offers: no line and column, the missing field named.
    let err = Catalog::from_object(js("{}").unchecked_ref()).unwrap_err();
    assert_eq!(get(&err, "field"), "offers");
    let m = message(err);
    assert!(!m.contains("line") && !m.contains("column"), "{m}");
    assert!(m.contains("offers: missing"), "{m}");
}

/// The field names of `export interface NAME { … }` in generated TypeScript.
fn declared_fields(ts: &str) -> Vec<String> {
    ts.lines()
        .filter_map(|l| l.strip_prefix("  "))
        .filter(|l| !l.starts_with("/**") && !l.starts_with('['))
        .filter_map(|l| l.split(':').next())
        .map(|name| name.trim_end_matches('?').to_string())
        .collect()
}

fn keys(v: &JsValue) -> Vec<String> {
    let mut k: Vec<String> = js_sys::Object::keys(v.unchecked_ref::<js_sys::Object>())
        .iter()
        .map(|k| k.as_string().unwrap())
        .collect();
    k.sort();
    k
}

fn assert_declared(name: &str, ts: &str, value: &JsValue) {
    let mut declared = declared_fields(ts);
    declared.sort();
    assert_eq!(
        keys(value),
        declared,
        "{name}: what the engine returns vs its TypeScript"
    );
}

#[wasm_bindgen_test]
fn every_field_the_engine_returns_is_declared_in_its_typescript() {
    use pocketrank::wasm::ts;
    let mut e = Engine::in_memory(Some(
        js(r#"{"seed":1,"now":1795910400000}"#).unchecked_into(),
    ))
    .unwrap();
    e.record(
        js(r#"{"kind":"purchase","tags":["category:baking"],"item":"sku-1"}"#).unchecked_into(),
    )
    .unwrap();
    let d = e.choose(&catalog(), None).unwrap().unwrap();
    let profile: JsValue = e.profile().into();
    assert_declared("ProfileView", ts::ProfileView::TS, &profile);
    let first = |key: &str| js_sys::Array::from(&get(&profile, key)).get(0);
    assert_declared("InterestView", ts::InterestView::TS, &first("interests"));
    assert_declared("ItemView", ts::ItemView::TS, &first("items"));
    assert_declared("OfferView", ts::OfferView::TS, &first("offers"));
    assert_declared("EngineStatus", ts::EngineStatus::TS, &e.status().into());
    assert_declared("PrivacyView", ts::PrivacyView::TS, &e.privacy().into());
    let contributions: JsValue = d.contributions().into();
    assert_declared(
        "Contribution",
        ts::Contribution::TS,
        &js_sys::Array::from(&contributions).get(0),
    );
    // The unions are the strings the engine sends: every reason and kind it can produce.
    assert!(ts::DecisionReason::ALL.contains(&d.reason().as_str()));
    for kind in pocketrank::EventKind::ALL {
        assert!(
            ts::EventKind::ALL.contains(&kind.as_str()),
            "{}",
            kind.as_str()
        );
    }
    assert_eq!(ts::EventKind::ALL.len(), pocketrank::EventKind::ALL.len());
    for m in [
        pocketrank::safeguard::Mechanism::Exact,
        pocketrank::safeguard::Mechanism::Noised,
        pocketrank::safeguard::Mechanism::PrivateChoice,
    ] {
        assert_eq!(ts::Mechanism::of(&m), m.as_str());
    }
    for r in [
        pocketrank::Reason::Personal,
        pocketrank::Reason::Explore,
        pocketrank::Reason::Fallback,
        pocketrank::Reason::Popular,
        pocketrank::Reason::Private,
    ] {
        assert_eq!(ts::DecisionReason::of(&r), r.as_str());
    }
}

#[wasm_bindgen_test]
async fn a_ledger_entry_has_the_fields_its_typescript_declares() {
    use pocketrank::wasm::ts;
    let mut e = Engine::in_memory(None).unwrap();
    let d = e.choose(&catalog(), None).unwrap().unwrap();
    // Written to the ledger before it is sent; nothing listens on port 9, so it then rejects.
    let sent = wasm_bindgen_futures::JsFuture::from(e.report(&d, "http://127.0.0.1:9/r".into()));
    let err = sent.await.unwrap_err();
    assert_eq!(get(&err, "code"), "report.network");
    let ledger = js_sys::Array::from(&get(&e.privacy().into(), "ledger"));
    assert_eq!(ledger.length(), 1);
    assert_declared("LedgerView", ts::LedgerView::TS, &ledger.get(0));
}

/// Sorted.
fn sorted(names: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

#[wasm_bindgen_test]
fn every_input_interface_declares_exactly_the_keys_the_engine_reads() {
    use pocketrank::wasm::ts;
    // Each pair: the keys the TypeScript declares, and the names serde reads from what JS
    // passes (with its renames applied). `check_keys` refuses anything else for the options.
    let interfaces: [(&str, &str, &[&str]); 7] = [
        (
            "EngineOptions",
            ts::EngineOptions::TS,
            ts::EngineOptions::accepted(),
        ),
        (
            "PrivacyOptions",
            ts::PrivacyOptions::TS,
            ts::PrivacyOptions::accepted(),
        ),
        (
            "ChooseRequest",
            ts::ChooseRequest::TS,
            ts::ChooseRequest::accepted(),
        ),
        (
            "ShoppingEvent",
            ts::ShoppingEvent::TS,
            ts::ShoppingEvent::accepted(),
        ),
        (
            "CatalogJson",
            ts::CatalogJson::TS,
            ts::CatalogJson::accepted(),
        ),
        ("OfferJson", ts::OfferJson::TS, ts::OfferJson::accepted()),
        ("OfferCaps", ts::OfferCaps::TS, ts::OfferCaps::accepted()),
    ];
    for (name, ts_text, accepted) in interfaces {
        assert!(!accepted.is_empty(), "{name}: serde lists its fields");
        let mut declared = declared_fields(ts_text);
        declared.sort();
        assert_eq!(
            declared,
            sorted(accepted),
            "{name}: its TypeScript vs what serde reads"
        );
    }
    // And the options refuse a key they do not declare, naming the ones they do.
    for key in ts::EngineOptions::KEYS {
        let opts = js(&format!(r#"{{"{key}":null}}"#));
        assert!(
            Engine::in_memory(Some(opts.unchecked_into())).is_ok(),
            "{key}"
        );
    }
    let err = Engine::in_memory(Some(js(r#"{"halfLife":3}"#).unchecked_into())).unwrap_err();
    assert_eq!(get(&err, "field"), "halfLife");
    let m = get(&err, "message").as_string().unwrap();
    assert!(m.contains("halfLifeDays"), "{m}");
}

/// The members a hand-written `export class NAME { … }` declares: its fields and methods by
/// name (`[Symbol.dispose]` as `Symbol.dispose`), not its private constructor.
fn class_members(ts: &str, name: &str) -> Vec<String> {
    let start = ts
        .find(&format!("export class {name} "))
        .unwrap_or_else(|| panic!("{name} is declared"));
    let body = &ts[start..];
    let body = &body[..body.find("\n}").unwrap()];
    let mut members: Vec<String> = body
        .lines()
        .skip(1)
        .filter_map(|l| l.strip_prefix("  "))
        .filter(|l| !l.starts_with(' ') && !l.starts_with("/**") && !l.starts_with('*'))
        .filter(|l| !l.starts_with("private constructor"))
        .map(|l| {
            let l = l.trim_start_matches("readonly ");
            let end = l.find(['(', ':', '?']).unwrap();
            l[..end].trim_matches(['[', ']']).to_string()
        })
        .collect();
    members.sort();
    members
}

/// What a JS object really has: its own enumerable keys and its prototype's members (but
/// `constructor`), a symbol by its well-known name.
fn real_members(v: &JsValue) -> Vec<String> {
    let dispose = Reflect::get(&js_sys::global(), &"Symbol".into())
        .and_then(|s| Reflect::get(&s, &"dispose".into()))
        .unwrap();
    let proto = js_sys::Object::get_prototype_of(v);
    let mut members = keys(v);
    for key in Reflect::own_keys(&proto).unwrap().iter() {
        if key == dispose {
            members.push("Symbol.dispose".into());
        } else if let Some(k) = key.as_string() {
            if k != "constructor" {
                members.push(k);
            }
        } else {
            members.push(format!("{key:?}"));
        }
    }
    members.sort();
    members
}

#[wasm_bindgen_test]
fn the_decision_and_error_classes_have_the_members_their_typescript_declares() {
    let d: JsValue = Engine::in_memory(None)
        .unwrap()
        .choose(&catalog(), None)
        .unwrap()
        .unwrap()
        .into();
    assert_eq!(
        real_members(&d),
        class_members(pocketrank::wasm::TS_DECISION, "Decision"),
        "Decision: the object vs its TypeScript"
    );
    // An error with every structured field.
    let err = Catalog::from_json(r#"{"version":1,"offers":[{"id":"A","caps":{"perDay":25}}]}"#)
        .unwrap_err();
    assert_eq!(
        real_members(&err),
        class_members(pocketrank::wasm::TS_ERROR, "PocketrankError"),
        "PocketrankError: the error vs its TypeScript"
    );
}

#[wasm_bindgen_test]
fn an_option_of_the_wrong_type_is_named_in_the_api_s_words() {
    for (options, field, words) in [
        (r#"{"exploration":"x"}"#, "exploration", "must be a number"),
        (r#"{"namespace":5}"#, "namespace", "must be a string"),
        (r#"{"paused":"yes"}"#, "paused", "must be true or false"),
        (
            r#"{"privacy":{"epsilon":"1"}}"#,
            "privacy.epsilon",
            "must be a number",
        ),
    ] {
        let err = Engine::in_memory(Some(js(options).unchecked_into())).unwrap_err();
        assert_eq!(get(&err, "code"), "options.invalid", "{options}");
        assert_eq!(get(&err, "field"), field, "{options}");
        let message = get(&err, "message").as_string().unwrap();
        assert!(message.contains(words), "{options}: {message}");
        assert!(!message.contains("invalid type"), "{options}: {message}");
    }
    let mut e = Engine::in_memory(None).unwrap();
    let err = e
        .choose(
            &catalog(),
            Some(js(r#"{"context":"home"}"#).unchecked_into()),
        )
        .unwrap_err();
    assert_eq!(get(&err, "field"), "context");
}

/// Ten offers, so that `chooseMany` with `count: 10` returns ten decisions.
fn ten_offers() -> Catalog {
    let offers: Vec<String> = (0..10)
        .map(|i| {
            format!(
                r#"{{"id":"O{i}","tags":{{"category:c{i}":1}},"creative":{{"title":"Offer {i}","labels":{{"category:c{i}":"Department {i}"}}}}}}"#
            )
        })
        .collect();
    Catalog::from_json(&format!(
        r#"{{"version":1,"offers":[{}]}}"#,
        offers.join(",")
    ))
    .unwrap()
}

#[wasm_bindgen_test]
fn decisions_left_to_the_garbage_collector_hold_no_wasm_memory() {
    // An app keeps no decision and never calls free(): each call's decisions must cost
    // nothing in Wasm memory once dropped. (With Wasm-side decisions, 10 per call, the
    // memory grew by megabytes here: their finalizers cannot run inside one synchronous run.)
    let mut e = Engine::in_memory(Some(
        js(r#"{"seed":1,"exploration":0,"privacy":{"epsilon":1}}"#).unchecked_into(),
    ))
    .unwrap();
    e.record(js(r#"{"kind":"view","tags":["category:c3"]}"#).unchecked_into())
        .unwrap();
    let catalog = ten_offers();
    let request = || Some(js(r#"{"count":10,"preview":true}"#).unchecked_into());
    let memory = || {
        let buffer = get(&wasm_bindgen::memory(), "buffer");
        get(&buffer, "byteLength").as_f64().unwrap()
    };
    let first: JsValue = e.choose_many(&catalog, request()).unwrap().into();
    assert_eq!(get(&first, "length"), 10);
    let before = memory();
    for _ in 0..2_000 {
        let many: JsValue = e.choose_many(&catalog, request()).unwrap().into();
        assert_eq!(get(&many, "length"), 10);
    }
    let grown = memory() - before;
    assert!(
        grown <= 256.0 * 1024.0,
        "20,000 decisions grew Wasm memory by {grown} bytes"
    );
    // What a decision says is all in the JS object: it still works after the engine and the
    // catalog are gone, and free() (kept for older code) changes nothing.
    let d = js_sys::Array::from(&first)
        .find(&mut |d, _, _| get(&d, "offerId") == "O3")
        .clone();
    assert_eq!(get(&d, "reason"), "personal");
    drop(e);
    drop(catalog);
    let explain: js_sys::Function = get(&d, "explain").unchecked_into();
    let free: js_sys::Function = get(&d, "free").unchecked_into();
    free.call0(&d).unwrap();
    let text = explain.call0(&d).unwrap().as_string().unwrap();
    assert!(text.contains("Department 3"), "{text}");
    assert_eq!(get(&get(&d, "creative"), "title"), "Offer 3");
}

#[wasm_bindgen_test]
async fn a_report_of_anything_but_a_decision_sends_nothing_and_rejects() {
    // A page cannot make the report carry a body of its choosing: only a decision the engine
    // made has one (its offer ID, or the noised ID drawn with it).
    let mut e = Engine::in_memory(None).unwrap();
    let forged = js(r#"{"offerId":"anything the site likes","reason":"personal","score":1}"#);
    for value in [forged, JsValue::NULL, JsValue::from_str("RUN")] {
        let err = wasm_bindgen_futures::JsFuture::from(
            e.report(value.unchecked_ref(), "https://127.0.0.1:9/r".into()),
        )
        .await
        .unwrap_err();
        assert_eq!(get(&err, "code"), "options.invalid", "{value:?}");
    }
    let privacy: JsValue = e.privacy().into();
    assert_eq!(get(&get(&privacy, "ledger"), "length"), 0, "nothing logged");
}

#[wasm_bindgen_test]
fn a_page_cannot_lift_the_weekly_bound_of_exact_reports() {
    for bits in [f64::INFINITY, f64::NAN, 1001.0, -1.0] {
        let privacy = js("{}");
        Reflect::set(&privacy, &"bitsPerWeek".into(), &bits.into()).unwrap();
        let options = js("{}");
        Reflect::set(&options, &"privacy".into(), &privacy).unwrap();
        let err = Engine::in_memory(Some(options.unchecked_into())).unwrap_err();
        assert_eq!(get(&err, "code"), "options.invalid", "{bits}");
        assert_eq!(get(&err, "field"), "privacy.bitsPerWeek", "{bits}");
    }
}

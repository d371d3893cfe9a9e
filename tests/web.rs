//! Browser tests: real Chromium, real `localStorage`, each test in its own namespace.
#![cfg(target_arch = "wasm32")]

use js_sys::{Function, Reflect, JSON};
use pocketrank::wasm::{Catalog, Engine};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const T0: f64 = 1_795_910_400_000.0;
const DAY: f64 = 86_400_000.0;

fn js(text: &str) -> JsValue {
    JSON::parse(text).expect("test JSON")
}

fn get(v: &JsValue, path: &str) -> JsValue {
    path.split('.')
        .fold(v.clone(), |acc, k| match k.parse::<u32>() {
            Ok(i) => Reflect::get_u32(&acc, i).unwrap_or(JsValue::UNDEFINED),
            Err(_) => Reflect::get(&acc, &k.into()).unwrap_or(JsValue::UNDEFINED),
        })
}

fn run(body: &str) -> JsValue {
    Function::new_no_args(body)
        .call0(&JsValue::NULL)
        .expect(body)
}

fn storage() -> web_sys::Storage {
    web_sys::window().unwrap().local_storage().unwrap().unwrap()
}

/// Keys of `namespace` in the real localStorage.
fn keys_of(namespace: &str) -> Vec<String> {
    let s = storage();
    let prefix = format!("pocketrank:{namespace}:");
    (0..s.length().unwrap())
        .filter_map(|i| s.key(i).unwrap())
        .filter(|k| k.starts_with(&prefix))
        .collect()
}

fn cleanup(namespace: &str) {
    for k in keys_of(namespace) {
        storage().remove_item(&k).unwrap();
    }
}

fn options(namespace: &str, extra: &str) -> JsValue {
    let opts = js(&format!(
        r#"{{"namespace":"{namespace}","seed":7,"exploration":0{extra}}}"#
    ));
    if Reflect::get(&opts, &"now".into()).unwrap().is_undefined() {
        Reflect::set(&opts, &"now".into(), &T0.into()).unwrap();
    }
    opts
}

fn open(namespace: &str) -> Engine {
    Engine::open(Some(options(namespace, "").unchecked_into())).expect("open")
}

fn event(text: &str) -> pocketrank::wasm::ShoppingEvent {
    js(text).unchecked_into()
}

fn shop() -> Catalog {
    Catalog::from_json(
        r#"{"version":1,"id":"web","fallback":"G","offers":[
        {"id":"RUN","tags":{"category:running":1},"creative":{"title":"Run"}},
        {"id":"BAKE","tags":{"category:baking":1},"creative":{"labels":{"category:running":"running"}}},
        {"id":"KNIT","tags":{"category:knitting":1}},
        {"id":"SAIL","tags":{"category:sailing":1}},
        {"id":"G","tags":{}}]}"#,
    )
    .unwrap()
}

#[wasm_bindgen_test]
fn the_profile_survives_reopening_in_local_storage() {
    let ns = "web-roundtrip";
    cleanup(ns);
    let mut e = open(ns);
    e.record(event(
        r#"{"kind":"view","tags":["category:running"],"item":"sku-1"}"#,
    ))
    .unwrap();
    assert_eq!(keys_of(ns), [format!("pocketrank:{ns}:profile")]);
    let mut again = open(ns);
    let profile: JsValue = again.profile().into();
    assert_eq!(get(&profile, "interests.0.tag"), "category:running");
    assert_eq!(get(&profile, "interests.0.events.view"), 1);
    assert_eq!(get(&profile, "items.0.item"), "sku-1");
    assert_eq!(get(&again.status().into(), "storage"), "local");
    cleanup(ns);
}

#[wasm_bindgen_test]
fn weights_decay_with_an_injected_clock() {
    let ns = "web-decay";
    cleanup(ns);
    run(&format!("globalThis.__pocketrankTestClock = {T0};"));
    let clock = Function::new_no_args("return globalThis.__pocketrankTestClock;");
    let opts = options(ns, r#","halfLifeDays":7"#);
    Reflect::set(&opts, &"now".into(), &clock).unwrap();
    let mut e = Engine::open(Some(opts.unchecked_into())).unwrap();
    e.record(event(r#"{"kind":"view","tags":["category:running"]}"#))
        .unwrap();
    assert_eq!(get(&e.profile().into(), "interests.0.weight"), 1.0);
    run(&format!(
        "globalThis.__pocketrankTestClock = {};",
        T0 + 7.0 * DAY
    ));
    assert_eq!(get(&e.profile().into(), "interests.0.weight"), 0.5);
    cleanup(ns);
}

#[wasm_bindgen_test]
fn a_corrupt_stored_value_is_quarantined_and_the_engine_starts_fresh() {
    let ns = "web-quarantine";
    cleanup(ns);
    let garbage = "{\"v\":1,\"i\":[[\"category:running\",1.5,17";
    storage()
        .set_item(&format!("pocketrank:{ns}:profile"), garbage)
        .unwrap();
    let mut e = open(ns);
    let status: JsValue = e.status().into();
    assert_eq!(get(&status, "code"), "profile.invalid");
    let qkey = get(&status, "quarantined.0").as_string().unwrap();
    assert_eq!(storage().get_item(&qkey).unwrap().as_deref(), Some(garbage));
    e.record(event(r#"{"kind":"view","tags":["category:baking"]}"#))
        .unwrap();
    assert_eq!(
        storage().get_item(&qkey).unwrap().as_deref(),
        Some(garbage),
        "never overwritten"
    );
    assert_eq!(
        get(&e.profile().into(), "interests.0.tag"),
        "category:baking"
    );
    cleanup(ns);
}

#[wasm_bindgen_test]
fn when_local_storage_throws_the_engine_works_in_memory_and_says_so() {
    // What a sandboxed iframe or blocked site data does: reading window.localStorage throws.
    run(r#"
        globalThis.__pocketrankSaved = Object.getOwnPropertyDescriptor(window, "localStorage");
        Object.defineProperty(window, "localStorage", { configurable: true,
            get() { throw new DOMException("The document is sandboxed", "SecurityError"); } });
    "#);
    let result = Engine::open(Some(options("web-denied", "").unchecked_into()));
    run(r#"Object.defineProperty(window, "localStorage", globalThis.__pocketrankSaved);"#);
    let mut e = result.expect("open never throws for storage");
    let status: JsValue = e.status().into();
    assert_eq!(get(&status, "storage"), "memory");
    assert_eq!(get(&status, "code"), "storage.unavailable");
    assert!(e
        .record(event(r#"{"kind":"view","tags":["category:baking"]}"#))
        .unwrap());
    assert_eq!(e.choose(&shop(), None).unwrap().unwrap().offer_id(), "BAKE");
    assert!(keys_of("web-denied").is_empty());
}

#[wasm_bindgen_test]
fn when_the_quota_is_exhausted_recording_goes_on_and_the_heaviest_interests_stay() {
    let ns = "web-quota";
    cleanup(ns);
    let mut e = open(ns);
    e.record(event(r#"{"kind":"purchase","tags":["favourite"]}"#))
        .unwrap();
    // Fill the rest of this origin's real quota.
    let filled = run(r#"
        const keys = []; let size = 1 << 20; let i = 0;
        while (size >= 1) {
            try { localStorage.setItem("filler:" + i, "x".repeat(size)); keys.push("filler:" + i); i++; }
            catch (e) { if (e.name !== "QuotaExceededError") throw e; size = size >> 1; }
        }
        return keys;
    "#);
    let mut results = Vec::new();
    for i in 0..150 {
        let ev = format!(
            r#"{{"kind":"view","tags":["interest-{i:03}-with-a-long-name-to-need-room"]}}"#
        );
        results.push(e.record(event(&ev)));
    }
    let status: JsValue = e.status().into();
    let stored_while_full = storage()
        .get_item(&format!("pocketrank:{ns}:profile"))
        .unwrap();
    let fill_count = js_sys::Array::from(&filled).length();
    run(
        r#"for (let k of Object.keys(localStorage)) if (k.startsWith("filler:")) localStorage.removeItem(k);"#,
    );
    assert!(fill_count > 3, "the quota was really reached");
    assert!(
        results.iter().all(|r| r.is_ok()),
        "record never throws because of storage"
    );
    assert_eq!(get(&status, "storage"), "local");
    assert_eq!(get(&status, "code"), "storage.quota", "the engine says why");
    let stored_while_full = stored_while_full.expect("a profile is still stored");
    assert!(
        stored_while_full.starts_with("{\"v\":1"),
        "what was stored is readable"
    );
    let profile: JsValue = e.profile().into();
    assert_eq!(
        get(&profile, "interests.0.tag"),
        "favourite",
        "this page lost nothing"
    );
    assert_eq!(
        get(&profile, "interests.length"),
        128,
        "up to the profile's own bound"
    );
    // Once there is room again, the next write stores the whole profile.
    e.record(event(r#"{"kind":"cart","tags":["after"]}"#))
        .unwrap();
    let stored = storage()
        .get_item(&format!("pocketrank:{ns}:profile"))
        .unwrap()
        .unwrap();
    assert!(
        stored.contains("favourite") && stored.contains("after"),
        "{} {:?}",
        &stored[..stored.len().min(300)],
        js_sys::JSON::stringify(&e.status().into())
    );
    assert!(get(&e.status().into(), "code").is_null());
    cleanup(ns);
}

#[wasm_bindgen_test]
fn clear_leaves_no_pocketrank_key() {
    let ns = "web-clear";
    cleanup(ns);
    storage()
        .set_item(&format!("pocketrank:{ns}:profile"), "not json")
        .unwrap();
    let mut e = open(ns);
    e.record(event(r#"{"kind":"view","tags":["category:running"]}"#))
        .unwrap();
    e.choose(&shop(), None).unwrap();
    // The personalized catalog is registered for the weekly guard: the privacy record.
    assert_eq!(
        keys_of(ns).len(),
        3,
        "profile, privacy record and quarantine"
    );
    assert_eq!(e.clear().unwrap(), 3);
    assert!(keys_of(ns).is_empty());
    assert_eq!(get(&e.profile().into(), "interests.length"), 0);
}

#[wasm_bindgen_test]
fn pause_records_nothing_and_shows_the_fallback_until_resume() {
    let ns = "web-pause";
    cleanup(ns);
    let mut e = open(ns);
    let c = shop();
    e.record(event(r#"{"kind":"view","tags":["category:running"]}"#))
        .unwrap();
    e.pause();
    assert!(!e
        .record(event(r#"{"kind":"view","tags":["category:baking"]}"#))
        .unwrap());
    assert_eq!(e.choose(&c, None).unwrap().unwrap().offer_id(), "G");
    assert!(open(ns).paused(), "persisted");
    e.resume();
    assert_eq!(e.choose(&c, None).unwrap().unwrap().offer_id(), "RUN");
    assert_eq!(get(&e.profile().into(), "interests.length"), 1);
    cleanup(ns);
}

#[wasm_bindgen_test]
fn export_then_import_gives_the_same_decisions() {
    let ns = "web-export";
    cleanup(ns);
    let mut e = open(ns);
    for ev in [
        r#"{"kind":"view","tags":["category:baking"]}"#,
        r#"{"kind":"cart","tags":["category:running"],"item":"sku-1"}"#,
    ] {
        e.record(event(ev)).unwrap();
    }
    let exported = e.export();
    let mut other = Engine::in_memory(Some(options("web-import", "").unchecked_into())).unwrap();
    other.import(&exported).unwrap();
    let req = || js(r#"{"count":3,"preview":true}"#).unchecked_into();
    let ids = |v: JsValue| {
        js_sys::Array::from(&v)
            .iter()
            .map(|d| get(&d, "offerId").as_string().unwrap())
            .collect::<Vec<_>>()
    };
    let c = shop();
    assert_eq!(
        ids(e.choose_many(&c, Some(req())).unwrap().into()),
        ids(other.choose_many(&c, Some(req())).unwrap().into())
    );
    assert!(
        keys_of("web-import").is_empty(),
        "inMemory never touches localStorage"
    );
    cleanup(ns);
}

#[wasm_bindgen_test]
fn two_engines_recording_in_turn_on_one_origin_lose_nothing() {
    let ns = "web-tabs";
    cleanup(ns);
    let mut a = open(ns);
    let mut b = open(ns);
    for _ in 0..10 {
        a.record(event(r#"{"kind":"view","tags":["from-a"]}"#))
            .unwrap();
        b.record(event(r#"{"kind":"view","tags":["from-b"]}"#))
            .unwrap();
    }
    let profile: JsValue = open(ns).profile().into();
    let counts: Vec<(String, f64)> = js_sys::Array::from(&get(&profile, "interests"))
        .iter()
        .map(|i| {
            (
                get(&i, "tag").as_string().unwrap(),
                get(&i, "events.view").as_f64().unwrap(),
            )
        })
        .collect();
    assert!(
        counts.contains(&("from-a".into(), 10.0)) && counts.contains(&("from-b".into(), 10.0)),
        "{counts:?}"
    );
    cleanup(ns);
}

#[wasm_bindgen_test]
async fn the_report_is_one_post_whose_whole_body_is_the_offer_id() {
    let ns = "web-report";
    let mut e = Engine::in_memory(Some(options(ns, "").unchecked_into())).unwrap();
    e.record(event(
        r#"{"kind":"purchase","tags":["category:running"],"item":"sku-1"}"#,
    ))
    .unwrap();
    let d = e
        .choose(&shop(), Some(js(r#"{"slot":"home"}"#).unchecked_into()))
        .unwrap()
        .unwrap();
    run(r#"
        globalThis.__pocketrankRealFetch = globalThis.fetch;
        globalThis.__pocketrankSeen = [];
        globalThis.fetch = (url, init) => { __pocketrankSeen.push({ url, init }); return Promise.resolve(new Response(null, { status: 204 })); };
    "#);
    let sent = JsFuture::from(e.report(&d, "/offers/report?site=demo".into())).await;
    run("globalThis.fetch = globalThis.__pocketrankRealFetch;");
    assert_eq!(sent.expect("a 204 resolves"), true);
    let seen = run("return globalThis.__pocketrankSeen;");
    assert_eq!(get(&seen, "length"), 1, "exactly one request");
    assert_eq!(
        get(&seen, "0.url"),
        "/offers/report?site=demo",
        "nothing added to the URL"
    );
    let init = get(&seen, "0.init");
    assert_eq!(get(&init, "method"), "POST");
    assert_eq!(get(&init, "body"), "RUN");
    assert_eq!(get(&init, "credentials"), "omit");
    assert_eq!(get(&init, "referrerPolicy"), "no-referrer");
    assert_eq!(get(&init, "keepalive"), true);
    assert!(get(&init, "headers").is_undefined(), "no custom header");
    let keys: Vec<String> = js_sys::Object::keys(init.unchecked_ref::<js_sys::Object>())
        .iter()
        .map(|k| k.as_string().unwrap())
        .collect();
    assert_eq!(keys.len(), 5, "nothing else in the request: {keys:?}");
}

#[wasm_bindgen_test]
async fn a_report_the_server_refuses_rejects_with_a_report_code() {
    let mut e = Engine::in_memory(Some(options("web-report-404", "").unchecked_into())).unwrap();
    let d = e.choose(&shop(), None).unwrap().unwrap();
    // A real request to the test server, which has no such endpoint.
    let err = JsFuture::from(e.report(&d, "/no-such-report-endpoint".into()))
        .await
        .unwrap_err();
    assert!(err.is_instance_of::<js_sys::Error>());
    assert_eq!(get(&err, "code"), "report.rejected");
    let err = JsFuture::from(e.report(&d, "http://[bad".into()))
        .await
        .unwrap_err();
    assert_eq!(get(&err, "code"), "report.invalid_url");
}

#[wasm_bindgen_test]
fn errors_are_real_error_objects_with_a_code_and_a_place() {
    let err =
        Catalog::from_json(r#"{"version":1,"offers":[{"id":"A"},{"id":"bad id"}]}"#).unwrap_err();
    assert!(err.is_instance_of::<js_sys::Error>());
    assert_eq!(get(&err, "name"), "PocketrankError");
    assert_eq!(get(&err, "code"), "catalog.invalid_id");
    assert_eq!(get(&err, "offer"), 1);
    assert_eq!(get(&err, "field"), "id");
    let mut e = Engine::in_memory(Some(options("web-errors", "").unchecked_into())).unwrap();
    let err = e
        .record(event(r#"{"kind":"stare","tags":["x"]}"#))
        .unwrap_err();
    assert_eq!(get(&err, "code"), "event.unknown_kind");
    let err = e.record(js("42").unchecked_into()).unwrap_err();
    assert_eq!(get(&err, "code"), "event.invalid");
    let err = Engine::open(Some(
        js(r#"{"namespace":"x","halfLifeDayz":3}"#).unchecked_into(),
    ))
    .unwrap_err();
    assert_eq!(get(&err, "code"), "options.invalid");
    let err = e.import("{\"v\":99}").unwrap_err();
    assert_eq!(get(&err, "code"), "profile.newer_version");
}

#[wasm_bindgen_test]
fn a_decision_carries_its_creative_and_a_local_explanation() {
    let mut e = Engine::in_memory(Some(options("web-explain", "").unchecked_into())).unwrap();
    e.record(event(r#"{"kind":"view","tags":["category:running"]}"#))
        .unwrap();
    let d = e.choose(&shop(), None).unwrap().unwrap();
    assert_eq!(d.reason(), "personal");
    assert_eq!(get(&d.creative().into(), "title"), "Run");
    // Named by a label that another offer's creative gives (catalog-wide), never by its code.
    assert!(
        d.explain().contains("you looked at running 1 time"),
        "{}",
        d.explain()
    );
    assert_eq!(get(&d.contributions().into(), "0.kind"), "interest");
    let c = Catalog::from_object(
        js(r#"{"version":1,"offers":[{"id":"X","creative":{"title":"<b>x</b>"}}]}"#)
            .unchecked_ref(),
    )
    .unwrap();
    assert_eq!(c.length(), 1);
    assert_eq!(get(&c.creative("X").into(), "title"), "<b>x</b>");
}

#[wasm_bindgen_test]
fn sensitive_tags_never_reach_local_storage() {
    let ns = "web-sensitive";
    cleanup(ns);
    let opts = options(ns, r#","sensitive":["Lingerie"]"#);
    let mut e = Engine::open(Some(opts.unchecked_into())).unwrap();
    e.record(event(
        r#"{"kind":"purchase","tags":["health:diabetes","category:food"],"item":"glucose-strips"}"#,
    ))
    .unwrap();
    e.record(event(
        r#"{"kind":"view","tags":["lingerie:lace"],"item":"sku-9"}"#,
    ))
    .unwrap();
    let stored = storage()
        .get_item(&format!("pocketrank:{ns}:profile"))
        .unwrap()
        .unwrap();
    assert!(stored.contains("category:food"), "{stored}");
    for secret in ["health", "diabetes", "glucose", "lingerie", "sku-9"] {
        assert!(!stored.contains(secret), "{secret} in {stored}");
    }
    let profile = JSON::stringify(&e.profile().into())
        .unwrap()
        .as_string()
        .unwrap();
    assert!(!profile.contains("health") && !profile.contains("lingerie"));
    cleanup(ns);
}

/// Replaces `fetch` with a recorder answering 204, runs `f`, restores `fetch`; returns the
/// bodies that would have left.
async fn capture<F: std::future::Future<Output = ()>>(f: F) -> Vec<String> {
    run(r#"
        globalThis.__pocketrankRealFetch = globalThis.fetch;
        globalThis.__pocketrankBodies = [];
        globalThis.fetch = (url, init) => { __pocketrankBodies.push(init.body); return Promise.resolve(new Response(null, { status: 204 })); };
    "#);
    f.await;
    run("globalThis.fetch = globalThis.__pocketrankRealFetch;");
    js_sys::Array::from(&run("return globalThis.__pocketrankBodies;"))
        .iter()
        .map(|b| b.as_string().unwrap())
        .collect()
}

fn runner_engine(ns: &str, extra: &str) -> Engine {
    let mut e = Engine::open(Some(options(ns, extra).unchecked_into())).unwrap();
    e.record(event(r#"{"kind":"purchase","tags":["category:running"]}"#))
        .unwrap();
    e
}

#[wasm_bindgen_test]
async fn the_budget_persists_across_page_loads_withholds_reports_and_frees_after_a_week() {
    let ns = "web-budget";
    cleanup(ns);
    let privacy = r#","privacy":{"epsilon":1,"budgetPerWeek":2}"#;
    let mut e = runner_engine(ns, privacy);
    let d = e.choose(&shop(), None).unwrap().unwrap();
    let mut answers = Vec::new();
    let sent = capture(async {
        for _ in 0..3 {
            answers.push(JsFuture::from(e.report(&d, "/r".into())).await.unwrap());
        }
    })
    .await;
    assert_eq!(answers, [true, true, false]);
    assert_eq!(sent.len(), 2, "the third report never left");
    // The next page load: a new engine on the same localStorage.
    let mut again = Engine::open(Some(options(ns, privacy).unchecked_into())).unwrap();
    let view: JsValue = again.privacy().into();
    assert_eq!(get(&view, "mode"), "noised");
    assert_eq!(get(&view, "remaining"), 0);
    let ledger: Vec<String> = js_sys::Array::from(&get(&view, "ledger"))
        .iter()
        .map(|l| get(&l, "body").as_string().unwrap())
        .rev()
        .collect();
    assert_eq!(ledger, sent, "the ledger holds exactly what left");
    let d2 = again.choose(&shop(), None).unwrap().unwrap();
    let sent = capture(async {
        assert_eq!(
            JsFuture::from(again.report(&d2, "/r".into()))
                .await
                .unwrap(),
            false
        );
    })
    .await;
    assert!(sent.is_empty());
    // Eight days later the week's budget is free again.
    let later = format!(r#"{privacy},"now":{}"#, T0 + 8.0 * DAY);
    let mut week2 = Engine::open(Some(options(ns, &later).unchecked_into())).unwrap();
    let d3 = week2.choose(&shop(), None).unwrap().unwrap();
    let sent = capture(async {
        assert_eq!(
            JsFuture::from(week2.report(&d3, "/r".into()))
                .await
                .unwrap(),
            true
        );
    })
    .await;
    assert_eq!(sent.len(), 1);
    cleanup(ns);
}

#[wasm_bindgen_test]
fn the_catalog_guards_show_in_status_and_hold_across_page_loads() {
    let ns = "web-guards";
    cleanup(ns);
    let mut e = runner_engine(ns, r#","privacy":{"catalogsPerWeek":1}"#);
    let small = Catalog::from_json(
        r#"{"version":1,"offers":[{"id":"RUN","tags":{"category:running":1}},{"id":"POP","popularity":1}]}"#,
    )
    .unwrap();
    let d = e.choose(&small, None).unwrap().unwrap();
    assert_eq!(d.offer_id(), "POP", "a two-offer catalog is never personal");
    assert_eq!(
        get(&e.status().into(), "guard"),
        "privacy.catalog_too_small"
    );
    let d = e.choose(&shop(), None).unwrap().unwrap();
    assert_eq!(
        (d.offer_id(), d.reason()),
        ("RUN".into(), "personal".into())
    );
    assert!(get(&e.status().into(), "guard").is_null());
    let other = Catalog::from_json(
        r#"{"version":1,"fallback":"G","offers":[{"id":"RUN2","tags":{"category:running":1}},{"id":"A"},{"id":"B"},{"id":"C"},{"id":"G"}]}"#,
    )
    .unwrap();
    let mut again = Engine::open(Some(
        options(ns, r#","privacy":{"catalogsPerWeek":1}"#).unchecked_into(),
    ))
    .unwrap();
    let d = again.choose(&other, None).unwrap().unwrap();
    assert_eq!(
        d.offer_id(),
        "G",
        "a second catalog this week gets the fallback"
    );
    assert_eq!(
        get(&again.status().into(), "guard"),
        "privacy.too_many_catalogs"
    );
    let status: JsValue = again.status().into();
    assert_eq!(get(&status, "catalogsThisWeek"), 1);
    assert_eq!(get(&status, "catalogsPerWeek"), 1);
    assert_eq!(get(&status, "minOffers"), 5);
    assert_eq!(get(&again.privacy().into(), "catalogsThisWeek"), 1);
    cleanup(ns);
}

#[wasm_bindgen_test]
fn a_namespace_the_shopper_adds_is_forgotten_and_never_reaches_local_storage() {
    let ns = "web-shopper-sensitive";
    cleanup(ns);
    let mut e = open(ns);
    e.record(event(
        r#"{"kind":"view","tags":["brand:acme","category:running"]}"#,
    ))
    .unwrap();
    assert!(e.add_sensitive("brand").unwrap());
    e.record(event(
        r#"{"kind":"view","tags":["brand:zeta","category:running"]}"#,
    ))
    .unwrap();
    let stored: String = keys_of(ns)
        .iter()
        .map(|k| storage().get_item(k).unwrap().unwrap())
        .collect();
    assert!(stored.contains("category:running"));
    assert!(!stored.contains("brand:"), "{stored}");
    let view: JsValue = open(ns).privacy().into();
    assert_eq!(get(&view, "sensitiveShopper.0"), "brand");
    let err = e.add_sensitive("no spaces").unwrap_err();
    assert_eq!(get(&err, "code"), "options.invalid");
    cleanup(ns);
}

#[wasm_bindgen_test]
fn privacy_options_are_checked_by_name_and_range() {
    for (extra, field) in [
        (r#","privacy":{"epsilom":1}"#, "epsilom"),
        (r#","privacy":{"epsilon":0}"#, "privacy.epsilon"),
        (r#","privacy":{"budgetPerWeek":4}"#, "privacy.budgetPerWeek"),
        (
            r#","privacy":{"epsilon":2,"budgetPerWeek":1}"#,
            "privacy.budgetPerWeek",
        ),
        (r#","privacy":{"minOffers":2.5}"#, "privacy.minOffers"),
    ] {
        let err = Engine::in_memory(Some(options("web-privacy-opts", extra).unchecked_into()))
            .unwrap_err();
        assert_eq!(get(&err, "code"), "options.invalid", "{extra}");
        assert_eq!(get(&err, "field"), field, "{extra}");
    }
}

//! The downstream crate's own browser tests: `wasm-pack test --headless --chrome`.
#![cfg(target_arch = "wasm32")]

use pocketrank::{Catalog, MemoryStore};
use pocketrank_rust_shop::Recommender;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const NOW: i64 = 1_795_910_400_000; // 2026-11-30, fixed

fn catalog() -> Catalog {
    Catalog::from_json(
        r#"{"version":1,"fallback":"WELCOME","offers":[
        {"id":"RUN-10","tags":{"category:running":1}},
        {"id":"BAKE-5","tags":{"category:baking":1}},
        {"id":"KNIT-5","tags":{"category:knitting":1}},
        {"id":"SAIL-5","tags":{"category:sailing":1}},
        {"id":"WELCOME"}]}"#,
    )
    .unwrap()
}

fn in_memory(seed: u64) -> Recommender {
    Recommender::with_store(
        Box::new(MemoryStore::new()),
        "rust-shop-test",
        Box::new(|| NOW),
        seed,
    )
    .unwrap()
}

#[wasm_bindgen_test]
fn a_new_shopper_gets_the_welcome_offer_and_a_baker_gets_baking() {
    let mut shop = in_memory(7);
    assert_eq!(
        shop.offer_for(&catalog(), "home").as_deref(),
        Some("WELCOME")
    );
    shop.viewed(&["category:baking"], "sku-flour").unwrap();
    assert_eq!(
        shop.offer_for(&catalog(), "home").as_deref(),
        Some("BAKE-5")
    );
}

/// The README's example ("From a Rust frontend"): the lines between the markers are the ones
/// the README shows (tests/apps/apps.test.mjs compares them), so that its code compiles and runs.
#[wasm_bindgen_test]
fn the_readme_example_runs() {
    let catalog = catalog();
    let example = || -> pocketrank::Result<()> {
        // README: begin
        let mut shop =
            Recommender::with_store(Box::new(MemoryStore::new()), "test", Box::new(|| NOW), 7)?;
        shop.viewed(&["category:baking"], "sku-flour")?;
        assert_eq!(shop.offer_for(&catalog, "home").as_deref(), Some("BAKE-5"));
        // README: end
        Ok(())
    };
    example().unwrap();
}

#[wasm_bindgen_test]
fn the_same_seed_and_clock_give_the_same_offers() {
    let run = |seed| {
        let mut shop = in_memory(seed);
        shop.bought(&["category:sailing"]).unwrap();
        (0..30)
            .map(|_| shop.offer_for(&catalog(), "home").unwrap())
            .collect::<Vec<_>>()
    };
    let offers = run(42);
    assert_eq!(offers, run(42));
    assert_eq!(offers[0], "SAIL-5");
    // Exploration (1% per slot by default) may show another offer now and then, not often.
    assert!(
        offers.iter().filter(|id| *id == "SAIL-5").count() >= 25,
        "{offers:?}"
    );
}

#[wasm_bindgen_test]
fn in_the_browser_the_profile_outlives_the_page_in_local_storage() {
    let mut first = Recommender::in_browser("rust-shop-e2e").unwrap();
    assert!(first.stored(), "the profile is kept in localStorage");
    first.viewed(&["category:knitting"], "sku-wool").unwrap();
    // A second recommender (another page load) reads what the first wrote.
    let mut second = Recommender::in_browser("rust-shop-e2e").unwrap();
    assert_eq!(
        second.offer_for(&catalog(), "home").as_deref(),
        Some("KNIT-5")
    );
    let storage = web_sys_storage();
    assert!(keys(&storage)
        .iter()
        .any(|k| k.starts_with("pocketrank:rust-shop-e2e:")));
    assert!(second.clear().unwrap() > 0);
    assert!(!keys(&storage)
        .iter()
        .any(|k| k.starts_with("pocketrank:rust-shop-e2e:")));
}

fn web_sys_storage() -> js_sys::Object {
    let window = js_sys::global();
    js_sys::Reflect::get(&window, &"localStorage".into())
        .unwrap()
        .into()
}

fn keys(storage: &js_sys::Object) -> Vec<String> {
    js_sys::Object::keys(storage)
        .iter()
        .filter_map(|k| k.as_string())
        .collect()
}

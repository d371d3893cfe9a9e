//! The catalog format: what is accepted, what is refused, and with which code and place.
#![cfg(not(target_arch = "wasm32"))]

use pocketrank::catalog::{Catalog, MAX_OFFERS, MAX_TAGS_PER_OFFER};
use pocketrank::Code;
use serde_json::{json, Value};

fn catalog_with(offers: Value) -> String {
    json!({ "version": 1, "id": "test", "offers": offers }).to_string()
}

fn refused(text: &str) -> pocketrank::Error {
    Catalog::from_json(text).expect_err("the catalog should be refused")
}

#[test]
fn the_design_example_is_accepted_with_every_field() {
    let text = r#"{ "version": 1, "id": "2026-11-29",
      "offers": [
        { "id": "RUN-10", "tags": { "category:running": 1.0, "brand:acme": 0.4 },
          "items": ["sku-1"], "boost": 0.1, "popularity": 0.8,
          "caps": { "perDay": 3, "perWeek": 10 },
          "start": "2026-11-01T00:00:00Z", "end": "2026-12-31T00:00:00Z",
          "requires": [], "excludes": ["category:kids"],
          "creative": { "title": "10% off running shoes", "image": "data:..." } },
        { "id": "GENERIC-1", "tags": {} } ],
      "fallback": "GENERIC-1" }"#;
    let c = Catalog::from_json(text).unwrap();
    assert_eq!(c.id(), "2026-11-29");
    assert_eq!(c.len(), 2);
    let o = c.offer(0);
    assert_eq!(o.id, "RUN-10");
    assert_eq!(o.caps.per_day, Some(3));
    assert_eq!(o.caps.per_week, Some(10));
    assert_eq!(o.start, Some(1_793_491_200_000));
    assert_eq!(
        c.tags_of(0).collect::<Vec<_>>(),
        [("category:running", 1.0), ("brand:acme", 0.4)]
    );
    assert_eq!(c.items_of(0).collect::<Vec<_>>(), ["sku-1"]);
    assert_eq!(c.excludes_of(0).collect::<Vec<_>>(), ["category:kids"]);
    let creative: Value = serde_json::from_str(o.creative.as_deref().unwrap()).unwrap();
    assert_eq!(creative["title"], "10% off running shoes");
    assert_eq!(c.fallback(), Some(1));
}

#[test]
fn unknown_fields_are_ignored_for_forward_compatibility() {
    let text = json!({ "version": 1, "publisher": "x", "offers": [{ "id": "A", "tags": {"t": 1}, "colour": "red" }] });
    assert_eq!(Catalog::from_json(&text.to_string()).unwrap().len(), 1);
}

#[test]
fn malformed_json_is_refused_as_invalid_json() {
    assert_eq!(
        refused("{\"version\": 1, \"offers\": [").code,
        Code::CatalogInvalidJson
    );
    assert_eq!(refused("not json").code, Code::CatalogInvalidJson);
}

#[test]
fn another_version_is_refused_even_with_another_shape() {
    let e = refused(r#"{"version": 2, "offers": {"shape": "new"}}"#);
    assert_eq!(e.code, Code::CatalogUnsupportedVersion);
    assert_eq!(e.field.as_deref(), Some("version"));
    assert_eq!(
        refused(r#"{"version": 3, "offers": [{"id":"A"}]}"#).code,
        Code::CatalogUnsupportedVersion
    );
    assert_eq!(
        refused(r#"{"offers": [{"id":"A"}]}"#).code,
        Code::CatalogInvalidField
    );
}

#[test]
fn a_wrongly_typed_field_names_the_offer_and_the_field() {
    let e = refused(&catalog_with(
        json!([{ "id": "A" }, { "id": "B", "popularity": "high" }]),
    ));
    assert_eq!(e.code, Code::CatalogInvalidField);
    assert_eq!(e.offer, Some(1));
    assert_eq!(e.field.as_deref(), Some("popularity"));
    let e = refused(&catalog_with(
        json!([{ "id": "A" }, { "id": "B" }, { "tags": {} }]),
    ));
    assert_eq!((e.offer, e.field.as_deref()), (Some(2), Some("id")));
    let e = refused(&catalog_with(json!([{ "id": "A", "tags": ["x"] }])));
    assert_eq!((e.offer, e.field.as_deref()), (Some(0), Some("tags")));
}

#[test]
fn ids_outside_the_allowed_set_are_refused_where_they_are() {
    for bad in ["", "has space", "semi;colon", "ünï", &"x".repeat(129)] {
        let e = refused(&catalog_with(json!([{ "id": "OK" }, { "id": bad }])));
        assert_eq!(e.code, Code::CatalogInvalidId, "{bad:?}");
        assert_eq!((e.offer, e.field.as_deref()), (Some(1), Some("id")));
    }
    assert!(Catalog::from_json(&catalog_with(
        json!([{ "id": "a.B_c:d-9" }, { "id": "x".repeat(128) }])
    ))
    .is_ok());
}

#[test]
fn duplicate_ids_are_refused_at_the_second() {
    let e = refused(&catalog_with(
        json!([{ "id": "A" }, { "id": "B" }, { "id": "A" }]),
    ));
    assert_eq!((e.code, e.offer), (Code::CatalogDuplicateId, Some(2)));
}

#[test]
fn out_of_range_weights_are_refused() {
    for (offer, field) in [
        (json!({ "id": "A", "tags": { "t": 1.5 } }), "tags"),
        (json!({ "id": "A", "tags": { "t": -0.1 } }), "tags"),
        (json!({ "id": "A", "boost": 2 }), "boost"),
        (json!({ "id": "A", "popularity": -1 }), "popularity"),
    ] {
        let e = refused(&catalog_with(json!([offer])));
        assert_eq!(
            (e.code, e.field.as_deref()),
            (Code::CatalogInvalidWeight, Some(field))
        );
    }
    // JSON has no NaN or infinity; a number too large for a float is refused, not saturated.
    let e = refused(r#"{"version":1,"offers":[{"id":"A","boost":1e999}]}"#);
    assert!(e.message.contains("out of range"), "{e}");
}

#[test]
fn bad_dates_and_windows_are_refused() {
    let e = refused(&catalog_with(json!([{ "id": "A", "start": "tomorrow" }])));
    assert_eq!(
        (e.code, e.field.as_deref()),
        (Code::CatalogInvalidDate, Some("start"))
    );
    let e = refused(&catalog_with(
        json!([{ "id": "A", "end": "2026-02-30T00:00:00Z" }]),
    ));
    assert_eq!(
        (e.code, e.field.as_deref()),
        (Code::CatalogInvalidDate, Some("end"))
    );
    let e = refused(&catalog_with(
        json!([{ "id": "A", "start": "2026-12-01T00:00:00Z", "end": "2026-11-01T00:00:00Z" }]),
    ));
    assert_eq!(e.code, Code::CatalogInvalidWindow);
}

#[test]
fn negative_fractional_or_huge_caps_are_refused() {
    for caps in [
        json!({ "perDay": -1 }),
        json!({ "perHour": 1.5 }),
        json!({ "perWeek": 21 }),
        json!({ "total": 1e6 }),
    ] {
        let e = refused(&catalog_with(json!([{ "id": "A", "caps": caps }])));
        assert_eq!(e.code, Code::CatalogInvalidCap, "{caps}");
        assert!(e.field.as_deref().unwrap().starts_with("caps."));
    }
}

#[test]
fn a_fallback_that_names_no_offer_is_refused() {
    let text = json!({ "version": 1, "offers": [{ "id": "A" }], "fallback": "B" }).to_string();
    assert_eq!(refused(&text).code, Code::CatalogUnknownFallback);
}

#[test]
fn limits_are_enforced_at_the_limit_plus_one() {
    let tags: serde_json::Map<String, Value> = (0..=MAX_TAGS_PER_OFFER)
        .map(|i| (format!("t{i}"), json!(0.5)))
        .collect();
    let e = refused(&catalog_with(json!([{ "id": "A", "tags": tags }])));
    assert_eq!((e.code, e.offer), (Code::CatalogTooManyTags, Some(0)));
    let tags: serde_json::Map<String, Value> = (0..MAX_TAGS_PER_OFFER)
        .map(|i| (format!("t{i}"), json!(0.5)))
        .collect();
    assert!(Catalog::from_json(&catalog_with(json!([{ "id": "A", "tags": tags }]))).is_ok());

    let offers: Vec<Value> = (0..MAX_OFFERS)
        .map(|i| json!({ "id": format!("o{i}") }))
        .collect();
    assert_eq!(
        Catalog::from_json(&catalog_with(Value::Array(offers.clone())))
            .unwrap()
            .len(),
        MAX_OFFERS
    );
    let mut over = offers;
    over.push(json!({ "id": "one-more" }));
    assert_eq!(
        refused(&catalog_with(Value::Array(over))).code,
        Code::CatalogTooManyOffers
    );
    assert_eq!(refused(&catalog_with(json!([]))).code, Code::CatalogEmpty);
    let huge = format!(
        "{{\"version\":1,\"offers\":[],\"pad\":\"{}\"}}",
        " ".repeat(pocketrank::catalog::MAX_CATALOG_BYTES)
    );
    assert_eq!(refused(&huge).code, Code::CatalogTooLarge);
}

#[test]
fn content_hash_ignores_formatting_but_not_content() {
    let a = Catalog::from_json(&catalog_with(json!([{ "id": "A", "tags": { "t": 1 } }]))).unwrap();
    let b = Catalog::from_json(
        &serde_json::to_string_pretty(
            &json!({ "version": 1, "id": "test", "offers": [{ "id": "A", "tags": { "t": 1.0 } }] }),
        )
        .unwrap(),
    )
    .unwrap();
    let c =
        Catalog::from_json(&catalog_with(json!([{ "id": "A", "tags": { "t": 0.9 } }]))).unwrap();
    assert_eq!(a.content_hash(), b.content_hash());
    assert_ne!(a.content_hash(), c.content_hash());
}

#[test]
fn every_per_offer_limit_accepts_the_limit_and_refuses_one_more() {
    use pocketrank::catalog::{
        MAX_CREATIVE_BYTES, MAX_ID_LEN, MAX_ITEMS_PER_OFFER, MAX_RULES_PER_OFFER, MAX_TOTAL_CAP,
        MAX_WINDOW_CAP,
    };
    fn list(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("x{i}")).collect()
    }
    type Case = (&'static str, Box<dyn Fn(usize) -> Value>, usize, Code);
    let cases: Vec<Case> = vec![
        (
            "items",
            Box::new(|n| json!({ "id": "A", "items": list(n) })),
            MAX_ITEMS_PER_OFFER,
            Code::CatalogTooManyTags,
        ),
        (
            "requires",
            Box::new(|n| json!({ "id": "A", "requires": list(n) })),
            MAX_RULES_PER_OFFER,
            Code::CatalogTooManyTags,
        ),
        (
            "excludes",
            Box::new(|n| json!({ "id": "A", "excludes": list(n) })),
            MAX_RULES_PER_OFFER,
            Code::CatalogTooManyTags,
        ),
        (
            "id",
            Box::new(|n| json!({ "id": "i".repeat(n) })),
            MAX_ID_LEN,
            Code::CatalogInvalidId,
        ),
        (
            "tags",
            Box::new(|n| json!({ "id": "A", "tags": { "t".repeat(n): 1 } })),
            MAX_ID_LEN,
            Code::CatalogInvalidId,
        ),
        (
            "caps.perWeek",
            Box::new(|n| json!({ "id": "A", "caps": { "perWeek": n } })),
            MAX_WINDOW_CAP as usize,
            Code::CatalogInvalidCap,
        ),
        (
            "caps.total",
            Box::new(|n| json!({ "id": "A", "caps": { "total": n } })),
            MAX_TOTAL_CAP as usize,
            Code::CatalogInvalidCap,
        ),
        (
            "creative",
            Box::new(|n| json!({ "id": "A", "creative": "c".repeat(n - 2) })),
            MAX_CREATIVE_BYTES,
            Code::CatalogTooLarge,
        ),
    ];
    for (field, offer, limit, code) in cases {
        assert!(
            Catalog::from_json(&catalog_with(json!([offer(limit)]))).is_ok(),
            "{field} at its limit {limit}"
        );
        let e = refused(&catalog_with(json!([offer(limit + 1)])));
        assert_eq!(
            (e.code, e.offer, e.field.as_deref()),
            (code, Some(0), Some(field)),
            "{field} past its limit"
        );
    }
}

/// The fuzzer's JSON round trip once rewrote creatives compactly and saw another content hash:
/// creatives are kept as published, byte for byte, and their bytes are part of the hash.
#[test]
fn creatives_are_kept_byte_for_byte() {
    let text =
        r#"{"version":1,"offers":[{"id":"A","creative": { "title" : "x",  "n": [1, 2] } }]}"#;
    let c = Catalog::from_json(text).unwrap();
    assert_eq!(
        c.offer(0).creative.as_deref(),
        Some(r#"{ "title" : "x",  "n": [1, 2] }"#)
    );
    let compact = Catalog::from_json(
        r#"{"version":1,"offers":[{"id":"A","creative":{"title":"x","n":[1,2]}}]}"#,
    )
    .unwrap();
    assert_ne!(c.content_hash(), compact.content_hash());
    assert_eq!(Catalog::from_bytes(&c.to_bytes()).unwrap(), c);
}

#[test]
fn what_to_json_writes_reads_back_to_the_same_catalog() {
    // Keys in an unusual order (related and requires before tags), every field, a creative
    // kept byte for byte, and the demo shop's catalog.
    let odd = r#"{"offers":[
        {"related":{"sku-9":0.5,"sku-2":0.25},"requires":["segment:new"],"id":"A",
         "creative":{ "title" : "Hé \"quoted\"", "n":[1, 2.50]},"caps":{"total":3,"perDay":1},
         "tags":{"category:running":0.75,"brand:x":1},"items":["sku-1"],"boost":0.125,
         "start":"2026-01-01T00:00:00Z","end":"2027-01-01T00:00:00Z","excludes":["segment:vip"],
         "buyAgain":true,"popularity":0.3},
        {"id":"B","tags":{"category:baking":1}}],
        "fallback":"B","id":"odd","version":1}"#;
    let demo = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/www/offers.json"))
        .expect("the demo catalog");
    for text in [odd, demo.as_str()] {
        let catalog = Catalog::from_json(text).expect("accepted");
        let written = catalog.to_json();
        let again = Catalog::from_json(&written).expect("what to_json writes is accepted");
        assert_eq!(again.to_json(), written);
        assert_eq!(again.content_hash(), catalog.content_hash());
        for i in 0..catalog.len() {
            assert_eq!(again.offer(i).creative, catalog.offer(i).creative);
            assert_eq!(
                again.related_of(i).collect::<Vec<_>>(),
                catalog.related_of(i).collect::<Vec<_>>()
            );
        }
    }
    let odd = Catalog::from_json(odd).unwrap();
    assert!(odd
        .to_json()
        .contains(r#""creative":{ "title" : "Hé \"quoted\"", "n":[1, 2.50]}"#));
}

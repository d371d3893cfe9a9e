//! Item relations ("shoppers who had this also had that", published by the retailer in the
//! catalog) and the shopper's recent items: read alike from JSON and binary, refused alike,
//! and scored against what the shopper had last.
#![cfg(not(target_arch = "wasm32"))]

use pocketrank::catalog::binary::checksum;
use pocketrank::catalog::{Catalog, MAX_RELATED_PER_OFFER};
use pocketrank::profile::{Event, EventKind, Profile, Settings};
use pocketrank::rank::{
    choose, explain, explanation, Decision, Factor, Request, Scoring, SplitMix64,
};
use pocketrank::Code;
use serde_json::{json, Value};

const T0: i64 = 1_795_910_400_000;
const MINUTE: i64 = 60_000;

/// Item offers alike in tags and popularity; two carry relations (to items that have no
/// offer of their own, and to one that does).
fn shop() -> Value {
    json!({ "version": 1, "id": "rel", "offers": [
        { "id": "TENT", "tags": { "category:outdoor": 1.0 }, "items": ["tent"], "popularity": 0.5,
          "related": { "fuel": 0.4, "lamp": 0.2 } },
        { "id": "MIXER", "tags": { "category:outdoor": 1.0 }, "items": ["mixer"], "popularity": 0.5,
          "related": { "flour": 0.4 } },
        { "id": "PAN", "tags": { "category:outdoor": 1.0 }, "items": ["pan"], "popularity": 0.5 },
        { "id": "LAMP", "tags": { "category:outdoor": 1.0 }, "items": ["lamp"], "popularity": 0.5 }
    ] })
}

fn catalog(v: &Value) -> Catalog {
    Catalog::from_json(&v.to_string()).unwrap()
}

fn viewed(items: &[&str]) -> Profile {
    let s = Settings::default();
    let mut p = Profile::new();
    for (k, item) in items.iter().enumerate() {
        let e = Event::new(EventKind::View, ["category:outdoor"]).with_item(*item);
        p.record(&e, T0 + k as i64 * MINUTE, &s).unwrap();
    }
    p
}

/// `count` offers chosen for `p` an hour after its events, with `scoring`.
fn pick(c: &Catalog, p: &Profile, count: usize, scoring: &Scoring) -> Vec<Decision> {
    let req = Request::new(count, T0 + 3_600_000);
    choose(
        c,
        p,
        &Settings::default(),
        scoring,
        &req,
        &mut SplitMix64(3),
    )
}

/// The offer IDs of [`pick`]'s choice with neither exploration nor diversity.
fn ranked(c: &Catalog, p: &Profile, count: usize) -> Vec<String> {
    ids(&pick(
        c,
        p,
        count,
        &Scoring {
            diversity: 0.0,
            ..explored_never()
        },
    ))
}

/// The default scoring without exploration.
fn explored_never() -> Scoring {
    Scoring {
        exploration: 0.0,
        ..Scoring::default()
    }
}

fn ids(d: &[Decision]) -> Vec<String> {
    d.iter().map(|d| d.offer_id.clone()).collect()
}

#[test]
fn relations_read_from_json_and_binary_are_the_same_catalog_with_the_same_decisions() {
    let json = catalog(&shop());
    let bytes = json.to_bytes();
    assert_eq!(u16::from_le_bytes([bytes[4], bytes[5]]), 2, "version 2");
    let binary = Catalog::from_bytes(&bytes).unwrap();
    assert_eq!(binary, json);
    assert_eq!(binary.content_hash(), json.content_hash());
    let rel: Vec<(&str, f32)> = binary.related_of(0).collect();
    assert_eq!(rel, [("fuel", 0.4), ("lamp", 0.2)]);
    let p = viewed(&["flour", "fuel"]);
    assert_eq!(ranked(&json, &p, 5), ranked(&binary, &p, 5));

    // Without relations the binary form stays version 1, as older readers expect.
    let mut plain = shop();
    for o in plain["offers"].as_array_mut().unwrap() {
        o.as_object_mut().unwrap().remove("related");
    }
    let plain = catalog(&plain);
    let bytes = plain.to_bytes();
    assert_eq!(u16::from_le_bytes([bytes[4], bytes[5]]), 1);
    assert_ne!(plain.content_hash(), json.content_hash());
}

/// The JSON and binary forms of a faulty catalog are refused with the same code, offer and
/// field: one rule for both.
#[test]
fn bad_relations_are_refused_alike_in_json_and_binary() {
    let with = |related: Value| {
        let mut v = shop();
        v["offers"][2]["related"] = related;
        v
    };
    let too_many: serde_json::Map<String, Value> = (0..=MAX_RELATED_PER_OFFER)
        .map(|k| (format!("sku-{k}"), json!(0.1)))
        .collect();
    let cases = [
        (with(Value::Object(too_many)), Code::CatalogTooManyTags),
        (with(json!({ "flour": 1.5 })), Code::CatalogInvalidWeight),
        (with(json!({ "flour": -0.1 })), Code::CatalogInvalidWeight),
        (with(json!({ "": 0.5 })), Code::CatalogInvalidId),
        (with(json!(["flour"])), Code::CatalogInvalidField),
    ];
    for (v, code) in cases {
        let e = Catalog::from_json(&v.to_string()).unwrap_err();
        assert_eq!(
            (e.code, e.offer, e.field.as_deref()),
            (code, Some(2), Some("related")),
            "{v}"
        );
    }

    // The binary form, corrupted the same ways (checksum fixed, so that only the rule speaks).
    let good = catalog(&shop()).to_bytes();
    let n = good.len() - 8;
    let weights_at = n - 3 * 4; // the three similarities are the last column before the sum
    let refuse = |edit: &dyn Fn(&mut Vec<u8>)| {
        let mut b = good.clone();
        edit(&mut b);
        let sum = checksum(&b[..n]);
        b[n..].copy_from_slice(&sum.to_le_bytes());
        Catalog::from_bytes(&b).unwrap_err()
    };
    // The third similarity is MIXER's (offer 1).
    let e = refuse(&|b| b[weights_at + 8..weights_at + 12].copy_from_slice(&1.5f32.to_le_bytes()));
    assert_eq!(
        (e.code, e.offer, e.field.as_deref()),
        (Code::CatalogInvalidWeight, Some(1), Some("related"))
    );
    let e = refuse(&|b| b[weights_at..weights_at + 4].copy_from_slice(&f32::NAN.to_le_bytes()));
    assert_eq!((e.code, e.offer), (Code::CatalogInvalidWeight, Some(0)));
    // TENT's two related items made the same: listed twice.
    let ids_at = weights_at - 3 * 4;
    let e = refuse(&|b| {
        let first: [u8; 4] = b[ids_at..ids_at + 4].try_into().unwrap();
        b[ids_at + 4..ids_at + 8].copy_from_slice(&first);
    });
    assert_eq!(
        (e.code, e.offer, e.field.as_deref()),
        (Code::CatalogInvalidField, Some(0), Some("related"))
    );
    let json_twice = Catalog::from_json(
        &json!({ "version": 1, "offers": [{ "id": "A", "related": { "x": 0.1, "y": 0.2 } }] })
            .to_string()
            .replace("\"y\"", "\"x\""),
    )
    .unwrap_err();
    assert_eq!(json_twice.code, Code::CatalogInvalidField);
    // A reference past the item vocabulary is a corrupt file.
    let e = refuse(&|b| b[ids_at..ids_at + 4].copy_from_slice(&999u32.to_le_bytes()));
    assert_eq!(e.code, Code::CatalogInvalidBinary);
}

#[test]
fn the_offer_related_to_the_latest_item_comes_first() {
    let c = catalog(&shop());
    // TENT lists fuel; MIXER lists flour. The latest item decides.
    assert_eq!(ranked(&c, &viewed(&["fuel", "flour"]), 1), ["MIXER"]);
    assert_eq!(ranked(&c, &viewed(&["flour", "fuel"]), 1), ["TENT"]);
    // Seen again, an older item becomes the latest.
    assert_eq!(
        ranked(&c, &viewed(&["flour", "fuel", "flour"]), 1),
        ["MIXER"]
    );
    // With no relation to what the shopper had, catalog order breaks the tie.
    assert_eq!(ranked(&c, &viewed(&["socks"]), 1), ["TENT"]);
}

#[test]
fn a_relation_counts_from_the_recent_items_side_too() {
    // TENT lists lamp: a shopper who just had a tent is offered the lamp, though LAMP
    // itself lists nothing (TENT, the shopper's own item, comes first).
    let c = catalog(&shop());
    let p = viewed(&["tent"]);
    let top = ranked(&c, &p, 2);
    assert_eq!(top, ["TENT", "LAMP"]);
    let plain = Scoring {
        related: 0.0,
        diversity: 0.0,
        ..explored_never()
    };
    let without = ids(&pick(&c, &p, 2, &plain));
    assert_ne!(without, top, "the relation is what put them first");
    let d = pick(
        &c,
        &p,
        2,
        &Scoring {
            diversity: 0.0,
            ..explored_never()
        },
    );
    let lamp = d.iter().find(|d| d.offer_id == "LAMP").unwrap();
    assert!(
        lamp.contributions
            .iter()
            .any(|x| x.factor == Factor::Related("tent".into())),
        "{:?}",
        lamp.contributions
    );
}

#[test]
fn the_explanation_names_the_recent_item_behind_a_relation() {
    let c = catalog(&shop());
    let p = viewed(&["flour"]);
    let d = pick(&c, &p, 1, &explored_never());
    assert_eq!(d[0].offer_id, "MIXER");
    assert!(d[0]
        .contributions
        .iter()
        .any(|x| x.factor == Factor::Related("flour".into()) && x.amount > 0.0));
    // Named by its label, as the catalog's creative gives it, never by its ID.
    let named =
        explanation(&d[0], &p).render(&|k| (k == "flour").then(|| "Strong flour".to_string()));
    assert!(named.contains("shoppers who had Strong flour"), "{named}");
    let unnamed = explanation(&d[0], &p).render(&|_| None);
    assert!(!unnamed.contains("flour"), "{unnamed}");
    // In the catalog, with no label for it anywhere: described, never shown by its ID.
    let text = explain(&d[0], &p, &c);
    assert!(!text.contains("flour"), "{text}");
}

/// A shopper who watched `seen` (a thriller) three times.
fn watched_a_thriller() -> Profile {
    let s = Settings::default();
    let mut p = Profile::new();
    for k in 0..3 {
        let e = Event::new(EventKind::View, ["genre:thriller"]).with_item("seen");
        p.record(&e, T0 + k * MINUTE, &s).unwrap();
    }
    p
}

#[test]
fn scaling_every_similarity_alike_leaves_the_ranking_unchanged() {
    // THRILLER matches the shopper's genre; the comedies go with the film they just watched.
    // Cosines run higher on dense data than on sparse: the same catalog with every similarity
    // a tenth as large must rank alike, as a server's item-kNN would.
    let shop = |scale: f64| {
        catalog(&json!({ "version": 1, "id": "films", "offers": [
            { "id": "THRILLER", "tags": { "genre:thriller": 1.0 }, "items": ["t"], "popularity": 0.5 },
            { "id": "NEAR", "tags": { "genre:comedy": 1.0 }, "items": ["n"], "popularity": 0.5,
              "related": { "seen": 0.8 * scale } },
            { "id": "FAR", "tags": { "genre:comedy": 1.0 }, "items": ["f"], "popularity": 0.5,
              "related": { "seen": 0.3 * scale } }
        ] }))
    };
    let p = watched_a_thriller();
    let dense = ranked(&shop(1.0), &p, 3);
    assert_eq!(dense, ["NEAR", "FAR", "THRILLER"]);
    assert_eq!(ranked(&shop(0.1), &p, 3), dense);
}

#[test]
fn diversity_leaves_what_an_offer_earns_by_its_relations_whole() {
    // Two thrillers go with the film the shopper just watched, a comedy much less. The second
    // slot goes to the second thriller: what diversity takes off is the part its tags earn it
    // (the shopper's taste for thrillers, already served by the first), not its relation to
    // the film just watched.
    let c = catalog(&json!({ "version": 1, "id": "films", "offers": [
        { "id": "FIRST", "tags": { "genre:thriller": 1.0 }, "items": ["a"], "popularity": 0.5,
          "related": { "seen": 0.6 } },
        { "id": "SECOND", "tags": { "genre:thriller": 1.0 }, "items": ["b"], "popularity": 0.5,
          "related": { "seen": 0.5 } },
        { "id": "COMEDY", "tags": { "genre:comedy": 1.0 }, "items": ["c"], "popularity": 0.5,
          "related": { "seen": 0.2 } }
    ] }));
    let p = watched_a_thriller();
    let scoring = explored_never();
    assert!(scoring.diversity > 0.0);
    let two = ids(&pick(&c, &p, 2, &scoring));
    assert_eq!(two, ["FIRST", "SECOND"]);
}

#[test]
fn an_offer_picked_for_what_goes_with_the_latest_item_is_personal() {
    // Nothing in the shopper's interests matches either offer; RELATED goes with the film they
    // just watched, POPULAR is what everyone watches. Picking RELATED is about the shopper's own
    // recent item: the decision says so, and never "not based on your activity".
    let c = catalog(&json!({ "version": 1, "id": "films", "offers": [
        { "id": "POPULAR", "tags": { "genre:comedy": 1.0 }, "items": ["p"], "popularity": 0.9 },
        { "id": "RELATED", "tags": { "genre:comedy": 1.0 }, "items": ["r"], "popularity": 0.1,
          "related": { "seen": 0.6 } }
    ] }));
    let mut p = Profile::new();
    let e = Event::new(EventKind::View, ["genre:thriller"]).with_item("seen");
    p.record(&e, T0, &Settings::default()).unwrap();
    let d = pick(&c, &p, 1, &explored_never());
    assert_eq!(d[0].offer_id, "RELATED");
    assert_eq!(d[0].reason, pocketrank::rank::Reason::Personal);
    assert!(!explain(&d[0], &p, &c).contains("not based on your activity"));
}

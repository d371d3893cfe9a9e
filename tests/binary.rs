//! The compact binary catalog: same catalog, same decisions, same refusals.
#![cfg(not(target_arch = "wasm32"))]

use pocketrank::catalog::binary::checksum;
use pocketrank::catalog::Catalog;
use pocketrank::profile::{Event, EventKind, Profile, Settings};
use pocketrank::rank::{choose, Request, Scoring, SplitMix64};
use pocketrank::Code;

const T0: i64 = 1_795_910_400_000;

fn demo() -> Catalog {
    Catalog::from_json(include_str!("../www/offers.json")).unwrap()
}

fn with_fixed_checksum(mut b: Vec<u8>) -> Vec<u8> {
    let n = b.len() - 8;
    let sum = checksum(&b[..n]);
    b[n..].copy_from_slice(&sum.to_le_bytes());
    b
}

#[test]
fn json_to_binary_and_back_is_the_same_catalog_with_the_same_decisions() {
    let json = demo();
    let bytes = json.to_bytes();
    let binary = Catalog::from_bytes(&bytes).unwrap();
    assert_eq!(binary, json);
    assert_eq!(binary.content_hash(), json.content_hash());
    assert_eq!(binary.to_bytes(), bytes, "re-encoding is stable");
    let s = Settings::default();
    let mut p = Profile::new();
    for tags in [
        ["category:running", "brand:stridewell"],
        ["category:baking", "type:mixer"],
    ] {
        p.record(&Event::new(EventKind::View, tags), T0, &s)
            .unwrap();
    }
    let req = Request {
        exclude: &[],
        context: &["category:running".into()],
        count: 5,
        now: T0,
    };
    let a = choose(
        &json,
        &p,
        &s,
        &Scoring::default(),
        &req,
        &mut SplitMix64(11),
    );
    let b = choose(
        &binary,
        &p,
        &s,
        &Scoring::default(),
        &req,
        &mut SplitMix64(11),
    );
    assert_eq!(a, b);
    assert!(bytes.len() < include_str!("../www/offers.json").len());
}

#[test]
fn truncated_corrupt_or_foreign_bytes_are_refused_as_invalid_binary() {
    let bytes = demo().to_bytes();
    for cut in [0, 3, 11, 40, bytes.len() / 2, bytes.len() - 1] {
        assert_eq!(
            Catalog::from_bytes(&bytes[..cut]).unwrap_err().code,
            Code::CatalogInvalidBinary,
            "cut at {cut}"
        );
    }
    let mut flipped = bytes.clone();
    flipped[100] ^= 0x40;
    assert_eq!(
        Catalog::from_bytes(&flipped).unwrap_err().code,
        Code::CatalogInvalidBinary
    );
    let mut version = bytes.clone();
    version[4] = 9;
    let e = Catalog::from_bytes(&with_fixed_checksum(version)).unwrap_err();
    assert_eq!(e.code, Code::CatalogInvalidBinary);
    assert!(e.message.contains("version 9"));
    assert_eq!(
        Catalog::from_bytes(b"{\"version\":1}").unwrap_err().code,
        Code::CatalogInvalidBinary
    );
}

#[test]
fn binary_catalogs_get_the_same_checks_and_codes_as_json() {
    let c = Catalog::from_json(
        r#"{"version":1,"offers":[{"id":"A","tags":{"t":0.5}},{"id":"B","tags":{"u":0.25}}]}"#,
    )
    .unwrap();
    let bytes = c.to_bytes();
    // The weight 0.25 of offer 1, as f32, sits in the weight column: make it 2.0.
    let pos = bytes
        .windows(4)
        .rposition(|w| w == 0.25f32.to_le_bytes())
        .unwrap();
    let mut heavy = bytes.clone();
    heavy[pos..pos + 4].copy_from_slice(&2.0f32.to_le_bytes());
    let e = Catalog::from_bytes(&with_fixed_checksum(heavy)).unwrap_err();
    assert_eq!(
        (e.code, e.offer, e.field.as_deref()),
        (Code::CatalogInvalidWeight, Some(1), Some("tags"))
    );
    // Rename offer B to A: a duplicate ID, at offer 1.
    let pos = bytes.windows(2).position(|w| w == b"AB").unwrap();
    let mut dup = bytes.clone();
    dup[pos + 1] = b'A';
    let e = Catalog::from_bytes(&with_fixed_checksum(dup)).unwrap_err();
    assert_eq!((e.code, e.offer), (Code::CatalogDuplicateId, Some(1)));
    // An ID with a forbidden character.
    let mut space = bytes;
    space[pos] = b' ';
    let e = Catalog::from_bytes(&with_fixed_checksum(space)).unwrap_err();
    assert_eq!(
        (e.code, e.offer, e.field.as_deref()),
        (Code::CatalogInvalidId, Some(0), Some("id"))
    );
}

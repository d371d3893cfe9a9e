//! The JSON catalog: never panics; whatever is accepted re-encodes (as JSON, and as binary)
//! and decodes to the same catalog.
#![no_main]
use libfuzzer_sys::fuzz_target;
use pocketrank::catalog::Catalog;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(catalog) = Catalog::from_json(text) else { return };
    let again = Catalog::from_json(&catalog.to_json()).expect("re-encoded JSON is accepted");
    assert_eq!(again.content_hash(), catalog.content_hash());
    assert_eq!(again.len(), catalog.len());
    // Equal as written (interned IDs follow the order the keys came in, which may differ).
    assert_eq!(again.to_json(), catalog.to_json());
    let binary = Catalog::from_bytes(&catalog.to_bytes()).expect("the binary form is accepted");
    assert_eq!(binary, catalog);
});

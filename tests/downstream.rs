//! The downstream crate (examples/rust-shop) is tested with `wasm-pack test`, which runs the
//! wasm-bindgen test runner of the `wasm-bindgen` version in the crate's own Cargo.lock.
//! scripts/setup installs wasm-bindgen-cli at the root Cargo.lock's version only; with another
//! version in the example's lock, wasm-pack would download a runner (and fail offline).
#![cfg(not(target_arch = "wasm32"))]

use std::collections::BTreeMap;
use std::path::Path;

/// Package name → versions, as a Cargo.lock lists them (`[[package]]`, `name = …`, `version = …`).
fn locked(path: &Path) -> BTreeMap<String, Vec<String>> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut packages: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut name = None;
    for line in text.lines() {
        if let Some(n) = line.strip_prefix("name = ") {
            name = Some(n.trim_matches('"').to_string());
        } else if let (Some(v), Some(n)) = (line.strip_prefix("version = "), name.take()) {
            packages
                .entry(n)
                .or_default()
                .push(v.trim_matches('"').to_string());
        }
    }
    packages
}

#[test]
fn the_example_crate_locks_the_wasm_bindgen_of_the_root_crate() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let ours = locked(&root.join("Cargo.lock"));
    let theirs = locked(&root.join("examples/rust-shop/Cargo.lock"));
    assert!(ours.contains_key("wasm-bindgen") && theirs.contains_key("wasm-bindgen"));
    let mut compared = 0;
    for (name, versions) in &theirs {
        if let (true, Some(root_versions)) = (name.starts_with("wasm-bindgen"), ours.get(name)) {
            assert_eq!(
                versions, root_versions,
                "{name}: examples/rust-shop/Cargo.lock vs Cargo.lock \
                 (run `cargo update -p {name} --precise {}` in examples/rust-shop)",
                root_versions[0]
            );
            compared += 1;
        }
    }
    assert!(compared >= 2, "{compared} wasm-bindgen crates compared");
}

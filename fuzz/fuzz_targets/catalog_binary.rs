//! The binary catalog: never panics; whatever is accepted re-encodes and decodes to the same.
#![no_main]
use libfuzzer_sys::fuzz_target;
use pocketrank::catalog::Catalog;

fuzz_target!(|data: &[u8]| {
    // Most mutations break the checksum: also try the input with its checksum repaired, so
    // that the fuzzer reaches the decoder's checks.
    let mut fixed = data.to_vec();
    if fixed.len() >= 8 {
        let n = fixed.len() - 8;
        let sum = pocketrank::catalog::binary::checksum(&fixed[..n]);
        fixed[n..].copy_from_slice(&sum.to_le_bytes());
    }
    for input in [data, &fixed[..]] {
        if let Ok(c) = Catalog::from_bytes(input) {
            let bytes = c.to_bytes();
            assert_eq!(Catalog::from_bytes(&bytes).expect("re-encoded bytes are accepted"), c);
        }
    }
});

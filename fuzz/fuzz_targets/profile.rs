//! The stored profile: never panics; whatever is read re-encodes and reads back the same.
#![no_main]
use libfuzzer_sys::fuzz_target;
use pocketrank::profile::{Profile, Settings};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(mut p) = Profile::decode(text) else { return };
    assert_eq!(Profile::decode(&p.encode()).expect("re-encoded profile is readable"), p);
    // Whatever was read can be pruned and bounded without panicking, and stays readable.
    p.prune(1_795_910_400_000, &Settings::default());
    p.shrink_to(pocketrank::profile::MAX_STORED_BYTES, 1_795_910_400_000, &Settings::default());
    assert_eq!(Profile::decode(&p.encode()).expect("bounded profile is readable"), p);
});

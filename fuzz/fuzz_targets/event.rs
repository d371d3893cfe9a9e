//! An event from page code: never panics; a refused event changes nothing; an accepted one
//! re-encodes and reads back the same, and keeps the profile readable.
#![no_main]
use libfuzzer_sys::fuzz_target;
use pocketrank::profile::{Event, Profile, Settings};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(event) = serde_json::from_str::<Event>(text) else { return };
    let again: Event = serde_json::from_str(&serde_json::to_string(&event).unwrap()).unwrap();
    assert_eq!(again, event);
    let settings = Settings::default();
    let mut p = Profile::new();
    p.record(&Event::new(pocketrank::EventKind::View, ["seed"]), 1_795_910_400_000, &settings).unwrap();
    let before = p.clone();
    match p.record(&event, 1_795_910_400_001, &settings) {
        Ok(_) => assert_eq!(Profile::decode(&p.encode()).unwrap(), p),
        Err(_) => assert_eq!(p, before),
    }
});

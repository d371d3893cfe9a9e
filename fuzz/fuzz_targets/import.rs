//! An import file: never panics; a refused import changes nothing; an accepted one exports
//! and imports again to the same profile.
#![no_main]
use libfuzzer_sys::fuzz_target;
use pocketrank::{Engine, Scoring, Settings};

const NOW: i64 = 1_795_910_400_000;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut engine = Engine::in_memory("fuzz", Settings::default(), Scoring::default(), NOW).unwrap();
    let before = engine.export(NOW);
    match engine.import(text, NOW) {
        Ok(()) => {
            let exported = engine.export(NOW);
            let mut other = Engine::in_memory("fuzz", Settings::default(), Scoring::default(), NOW).unwrap();
            other.import(&exported, NOW).expect("an export imports");
            assert_eq!(other.export(NOW), exported);
        }
        Err(_) => assert_eq!(engine.export(NOW), before),
    }
});

//! Replays a shopper's event log into a fresh profile, natively, and prints the profile as
//! "Your data" shows it. The Chromium soak test (`www/tests/soak.test.mjs`) compares the profile
//! the package kept in `localStorage` over a simulated season with this replay.
//!
//! ```text
//! cargo run --example replay_events -- LOG.jsonl NOW_MS
//! ```
//! Each line of the log is `{"t": ms, "event": {…}}` (an event the engine recorded) or
//! `{"t": ms, "clear": true}`.

use pocketrank::profile::{Event, Settings};
use pocketrank::rank::Scoring;
use pocketrank::Engine;

#[derive(serde::Deserialize)]
struct Line {
    t: i64,
    #[serde(default)]
    event: Option<Event>,
    #[serde(default)]
    clear: bool,
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [log, now] = args.as_slice() else {
        eprintln!("usage: replay_events LOG.jsonl NOW_MS");
        std::process::exit(2);
    };
    let now: i64 = now.parse().expect("NOW_MS is a number");
    let text = std::fs::read_to_string(log).expect("the log is readable");
    let mut engine: Option<Engine> = None;
    for (n, line) in text.lines().filter(|l| !l.trim().is_empty()).enumerate() {
        let line: Line =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("line {}: {e}", n + 1));
        let e = engine.get_or_insert_with(|| {
            Engine::in_memory("replay", Settings::default(), Scoring::default(), line.t).unwrap()
        });
        if line.clear {
            e.clear().unwrap();
        }
        if let Some(event) = line.event {
            assert!(
                e.record(&event, line.t).unwrap(),
                "line {}: recorded",
                n + 1
            );
        }
    }
    let mut e = engine.unwrap_or_else(|| {
        Engine::in_memory("replay", Settings::default(), Scoring::default(), now).unwrap()
    });
    println!("{}", serde_json::to_string(&e.view(now)).unwrap());
}

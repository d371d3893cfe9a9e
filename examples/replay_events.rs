//! Replays a shopper's event log into a fresh profile, natively, and prints the profile as
//! "Your data" shows it, with the recent items. The Chromium soak test
//! (`www/tests/soak.test.mjs`) compares the profile the package kept in `localStorage` over a
//! simulated season with this replay.
//!
//! ```text
//! cargo run --example replay_events -- LOG.jsonl NOW_MS
//! ```
//! Each line of the log is `{"t": ms, …}` with one of: `"event": {…}` (an event the engine
//! recorded, feedback included, with the tags it taught), `"shown": [offer IDs]` (offers
//! counted as shown), `"forget": tag`, `"import": export text`, `"paused": bool`, or
//! `"clear": true`. Prints `{"view": …, "recent": […]}`.

use pocketrank::profile::{Event, Profile, Settings};
use pocketrank::ProfileView;

#[derive(serde::Deserialize)]
struct Line {
    t: i64,
    #[serde(default)]
    event: Option<Event>,
    #[serde(default)]
    shown: Vec<String>,
    #[serde(default)]
    forget: Option<String>,
    #[serde(default)]
    import: Option<String>,
    #[serde(default)]
    paused: Option<bool>,
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
    let settings = Settings::default();
    let mut p = Profile::new();
    for (n, line) in text.lines().filter(|l| !l.trim().is_empty()).enumerate() {
        let line: Line =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("line {}: {e}", n + 1));
        let t = line.t;
        if line.clear {
            // As the engine's clear: everything goes, personalization stays paused if it was.
            p = Profile {
                paused: p.paused,
                ..Profile::new()
            };
        }
        if let Some(paused) = line.paused {
            p.paused = paused;
        }
        if let Some(event) = line.event {
            assert!(
                p.record(&event, t, &settings).unwrap(),
                "line {}: recorded",
                n + 1
            );
        }
        for offer in &line.shown {
            p.note_impression(offer, t, &settings);
        }
        if let Some(tag) = line.forget {
            p.forget(&tag);
        }
        if let Some(export) = line.import {
            // As the engine's import: read, pruned, sensitive interests kept out.
            let mut q = Profile::decode(&export).unwrap_or_else(|e| panic!("line {}: {e}", n + 1));
            q.prune(t, &settings);
            q.interests.retain(|tag, _| !settings.is_sensitive(tag));
            p = q;
        }
    }
    p.prune(now, &settings);
    let out = serde_json::json!({
        "view": ProfileView::of(&p, now, &settings),
        "recent": p.recent,
    });
    println!("{out}");
}

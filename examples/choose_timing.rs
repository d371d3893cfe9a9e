//! `cargo run --release --example choose_timing`: native cost of one decision (top 10) at 100,
//! 1,000 and 10,000 offers, split into the ranking (`rank::choose`) and what the engine adds
//! (sync, the question's hash, the privacy record). In-memory store; the browser adds the
//! JS boundary (options in, decisions out). With `--related`, every offer carries 32 relations
//! and the profile's 16 latest items are among them (the relation term runs).
use pocketrank::privacy::{PrivacySettings, ReportMode};
use pocketrank::rank::{choose, Request};
use pocketrank::{Catalog, Engine, Event, EventKind, MemoryStore, Scoring, Settings, SplitMix64};

/// `related`: each offer also lists 32 items "had with" it (as `pocketrank-tool relate`
/// writes them), so that the relation term runs.
fn catalog(n: usize, related: bool) -> Catalog {
    let mut rng = SplitMix64(n as u64);
    let offers: Vec<String> = (0..n)
        .map(|i| {
            let tags: Vec<String> = (0..8)
                .map(|k| format!(r#""tag:t{}":{:.2}"#, (i * 7 + k * 61 + (rng.0 as usize % 13)) % 500, 0.2 + (k as f64) / 10.0))
                .collect();
            rng.0 = rng.0.wrapping_mul(6364136223846793005).wrapping_add(1);
            let rel: Vec<String> = (1..=32)
                .filter(|_| related)
                .map(|k| format!(r#""sku-{}":{:.3}"#, (i + k * 37) % n, 1.0 / (k as f64 + 1.0)))
                .filter(|r| !r.starts_with(&format!(r#""sku-{i}""#)))
                .collect();
            let rel = if rel.is_empty() {
                String::new()
            } else {
                format!(r#","related":{{{}}}"#, rel.join(","))
            };
            format!(
                r#"{{"id":"offer-{i}","tags":{{{}}},"items":["sku-{i}"],"popularity":{:.3},"boost":{:.3}{rel},"creative":{{"title":"Offer {i}","price":{i}}}}}"#,
                tags.join(","),
                (i % 97) as f64 / 97.0,
                (i % 5) as f64 / 50.0
            )
        })
        .collect();
    Catalog::from_json(&format!(
        r#"{{"version":1,"id":"c{n}","offers":[{}]}}"#,
        offers.join(",")
    ))
    .unwrap()
}

fn time<T>(rounds: u32, mut f: impl FnMut() -> T) -> std::time::Duration {
    let _ = f();
    let t = std::time::Instant::now();
    for _ in 0..rounds {
        std::hint::black_box(f());
    }
    t.elapsed() / rounds
}

fn main() {
    let now = 1_795_910_400_000;
    let privacy = PrivacySettings {
        mode: ReportMode::Noised,
        epsilon_per_report: 1.0,
        ..PrivacySettings::default()
    };
    let scoring = Scoring {
        exploration: 0.0,
        diversity: 0.0,
        ..Scoring::default()
    };
    let mut e = Engine::open(
        Box::new(MemoryStore::new()),
        "t",
        Settings::default(),
        scoring.clone(),
        now,
    )
    .unwrap();
    e.set_privacy(privacy, now).unwrap();
    for k in 0..50 {
        e.record(
            &Event::new(EventKind::View, [format!("tag:t{}", k * 9)])
                .with_item(format!("sku-{}", k * 3)),
            now,
        )
        .unwrap();
    }
    let related = std::env::args().any(|a| a == "--related");
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter(|a| a != "--related")
        .map(|a| a.parse().expect("a number of offers"))
        .collect();
    let sizes = if sizes.is_empty() {
        vec![100, 1_000, 10_000]
    } else {
        sizes
    };
    for n in sizes {
        let c = catalog(n, related);
        let req = Request {
            count: 10,
            ..Request::new(10, now)
        };
        let rounds = if n >= 10_000 { 200 } else { 2_000 };
        let profile = e.profile().clone();
        let rank = time(rounds, || {
            choose(
                &c,
                &profile,
                &Settings::default(),
                &scoring,
                &req,
                &mut SplitMix64(1),
            )
        });
        let engine = time(rounds, || e.choose(&c, &req, &mut SplitMix64(1), false));
        println!("{n:>6} offers: rank::choose {rank:>10.1?}  Engine::choose {engine:>10.1?}");
    }
}

//! `cargo run --release --example record_timing`: native cost of one `record` on a profile at
//! its cap, in-memory store (the browser adds the localStorage read and write).
use pocketrank::{Engine, Event, EventKind, MemoryStore, Scoring, Settings};

fn main() {
    let now = 1_795_910_400_000;
    let mut e = Engine::open(
        Box::new(MemoryStore::new()),
        "t",
        Settings::default(),
        Scoring::default(),
        now,
    )
    .unwrap();
    for k in 0..128 {
        let tag = format!("category:interest-{k:03}-{}", "x".repeat(40));
        e.record(
            &Event::new(EventKind::View, [tag]).with_item(format!("sku-{k:03}-{}", "y".repeat(20))),
            now,
        )
        .unwrap();
    }
    let n = 2000;
    let t = std::time::Instant::now();
    for k in 0..n {
        e.record(
            &Event::new(
                EventKind::View,
                [format!("category:c{}", k % 40), "brand:b1".into()],
            )
            .with_item("sku-1"),
            now + k,
        )
        .unwrap();
    }
    println!(
        "record at cap: {:?} per event, stored {} bytes",
        t.elapsed() / n as u32,
        e.status().stored_bytes
    );
}

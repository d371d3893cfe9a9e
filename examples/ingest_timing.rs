//! `cargo run --release --example ingest_timing CATALOG.json [json|bytes]`: native ingest timing.
fn main() {
    let path = std::env::args().nth(1).expect("a catalog file");
    let only = std::env::args().nth(2).unwrap_or_default();
    let text = std::fs::read_to_string(&path).unwrap();
    let c = pocketrank::Catalog::from_json(&text).unwrap();
    let bytes = c.to_bytes();
    if only != "bytes" {
        let t = std::time::Instant::now();
        for _ in 0..20 {
            std::hint::black_box(pocketrank::Catalog::from_json(&text).unwrap());
        }
        println!("{} offers: from_json {:?}", c.len(), t.elapsed() / 20);
    }
    if only != "json" {
        let t = std::time::Instant::now();
        for _ in 0..20 {
            std::hint::black_box(pocketrank::Catalog::from_bytes(&bytes).unwrap());
        }
        println!("{} offers: from_bytes {:?}", c.len(), t.elapsed() / 20);
    }
}

//! The JSON catalog: never panics; whatever is accepted re-encodes (as JSON, and as binary)
//! and decodes to the same catalog.
#![no_main]
use libfuzzer_sys::fuzz_target;
use pocketrank::catalog::{format_rfc3339, Catalog};
use serde_json::{json, Map, Value};

/// The catalog written back as version-1 JSON, from its public accessors.
fn to_json(c: &Catalog) -> String {
    let offers: Vec<Value> = (0..c.len())
        .map(|i| {
            let o = c.offer(i);
            // serde_json's map sorts its keys: the tags, in their order, are put back below.
            let mut caps = Map::new();
            for (k, v) in [("perHour", o.caps.per_hour), ("perDay", o.caps.per_day), ("perWeek", o.caps.per_week), ("total", o.caps.total)] {
                if let Some(v) = v {
                    caps.insert(k.into(), json!(v));
                }
            }
            let mut v = json!({
                "id": o.id, "tags": format!("@@tags-{i}@@"), "items": c.items_of(i).collect::<Vec<_>>(),
                "boost": o.boost as f64, "popularity": o.popularity as f64, "caps": caps,
                "requires": c.requires_of(i).collect::<Vec<_>>(), "excludes": c.excludes_of(i).collect::<Vec<_>>(),
                "buyAgain": o.buy_again,
            });
            if let Some(s) = o.start {
                v["start"] = json!(format_rfc3339(s));
            }
            if let Some(e) = o.end {
                v["end"] = json!(format_rfc3339(e));
            }
            if o.creative.is_some() {
                // Put back verbatim below: the creative is kept as published, byte for byte.
                v["creative"] = json!(format!("@@creative-{i}@@"));
            }
            v
        })
        .collect();
    let mut out = json!({ "version": 1, "id": c.id(), "offers": offers });
    if let Some(f) = c.fallback() {
        out["fallback"] = json!(c.offer(f).id);
    }
    let mut text = out.to_string();
    for i in 0..c.len() {
        let tags: Vec<String> = c
            .tags_of(i)
            .map(|(t, w)| format!("{}:{}", serde_json::to_string(t).unwrap(), serde_json::to_string(&(w as f64)).unwrap()))
            .collect();
        text = text.replacen(&format!("\"@@tags-{i}@@\""), &format!("{{{}}}", tags.join(",")), 1);
        if let Some(cr) = &c.offer(i).creative {
            text = text.replacen(&format!("\"@@creative-{i}@@\""), cr, 1);
        }
    }
    text
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(catalog) = Catalog::from_json(text) else { return };
    let again = Catalog::from_json(&to_json(&catalog)).expect("re-encoded JSON is accepted");
    assert_eq!(again.content_hash(), catalog.content_hash());
    assert_eq!(again.len(), catalog.len());
    for i in 0..catalog.len() {
        assert_eq!(again.offer(i).id, catalog.offer(i).id);
        assert_eq!(again.tags_of(i).collect::<Vec<_>>(), catalog.tags_of(i).collect::<Vec<_>>());
    }
    let binary = Catalog::from_bytes(&catalog.to_bytes()).expect("the binary form is accepted");
    assert_eq!(binary, catalog);
});

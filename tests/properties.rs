//! Invariants over random catalogs, profiles and events (proptest).
#![cfg(not(target_arch = "wasm32"))]

use pocketrank::catalog::Catalog;
use pocketrank::profile::{Event, EventKind, Profile, Settings, MAX_STORED_BYTES};
use pocketrank::rank::{choose, Request, Scoring, SplitMix64};
use proptest::prelude::*;
use serde_json::{json, Value};

const T0: i64 = 1_795_910_400_000;
const HOUR: i64 = 3_600_000;
const TAGS: [&str; 8] = ["a", "b", "c", "d", "e", "f", "g", "h"];

fn arb_offer(i: usize) -> impl Strategy<Value = Value> {
    (
        proptest::collection::btree_map(0..TAGS.len(), 0.01f64..=1.0, 0..4),
        0.0f64..=1.0,
        -0.2f64..=0.2,
        proptest::option::of(0u32..3),
        proptest::option::of(-3i64..3),
        proptest::option::of(-3i64..3),
        proptest::option::of(0..TAGS.len()),
        any::<bool>(),
        proptest::collection::btree_map(0usize..5, 0.0f64..=1.0, 0..3),
        proptest::option::of(0..TAGS.len() * 3),
    )
        .prop_map(move |(tags, pop, boost, per_day, start, end, exclude, with_item, related, require)| {
            let tags: serde_json::Map<String, Value> = tags.into_iter().map(|(t, w)| (TAGS[t].to_string(), json!(w))).collect();
            let mut o = json!({ "id": format!("O{i}"), "tags": tags, "popularity": pop, "boost": boost });
            if let Some(c) = per_day {
                o["caps"] = json!({ "perDay": c });
            }
            let date = |d: i64| pocketrank::catalog::format_rfc3339(T0 + d * 24 * HOUR);
            match (start, end) {
                (Some(s), Some(e)) if s <= e => {
                    o["start"] = json!(date(s));
                    o["end"] = json!(date(e));
                }
                (Some(s), None) => o["start"] = json!(date(s)),
                (None, Some(e)) => o["end"] = json!(date(e)),
                _ => {}
            }
            if let Some(x) = exclude {
                o["excludes"] = json!([TAGS[x]]);
            }
            // One offer in three at most needs an interest.
            if let Some(r) = require.filter(|&r| r < TAGS.len()) {
                o["requires"] = json!([TAGS[r]]);
            }
            if with_item {
                o["items"] = json!([format!("sku-{}", i % 3)]);
            }
            if !related.is_empty() {
                let related: serde_json::Map<String, Value> =
                    related.into_iter().map(|(k, w)| (format!("sku-{k}"), json!(w))).collect();
                o["related"] = Value::Object(related);
            }
            o
        })
}

fn arb_catalog() -> impl Strategy<Value = Catalog> {
    (1usize..12).prop_flat_map(|n| {
        let offers: Vec<_> = (0..n).map(arb_offer).collect();
        (offers, any::<bool>()).prop_map(|(offers, fb)| {
            let mut c = json!({ "version": 1, "offers": offers });
            if fb {
                c["fallback"] = json!("O0");
            }
            Catalog::from_json(&c.to_string()).unwrap()
        })
    })
}

fn arb_event() -> impl Strategy<Value = Event> {
    (
        0usize..6,
        proptest::collection::vec(0..TAGS.len(), 1..4),
        0usize..4,
        0usize..12,
    )
        .prop_map(|(k, tags, item, offer)| {
            let kind = EventKind::ALL[k];
            let mut e = Event::new(kind, tags.into_iter().map(|t| TAGS[t]));
            if item < 3 {
                e = e.with_item(format!("sku-{item}"));
            }
            if matches!(kind, EventKind::Click | EventKind::Dismiss) {
                e = e.with_offer(format!("O{offer}"));
            }
            e
        })
}

fn arb_profile() -> impl Strategy<Value = (Profile, i64)> {
    (
        proptest::collection::vec((arb_event(), 0i64..72), 0..30),
        proptest::collection::vec((0usize..12, 0i64..72), 0..10),
    )
        .prop_map(|(events, shows)| {
            let s = Settings::default();
            let mut p = Profile::new();
            let mut t = T0 - 72 * HOUR;
            for (e, dt) in events {
                t += dt * 60_000;
                p.record(&e, t, &s).unwrap();
            }
            for (o, dt) in shows {
                t += dt * 60_000;
                p.note_impression(&format!("O{o}"), t, &s);
            }
            (p, t)
        })
}

fn eligible(c: &Catalog, p: &Profile, i: usize, now: i64) -> bool {
    let o = c.offer(i);
    let scoring = Scoring::default();
    if o.start.is_some_and(|s| now < s) || o.end.is_some_and(|e| now >= e) {
        return false;
    }
    if let Some(h) = p.offers.get(&o.id) {
        if h.dismissed
            .is_some_and(|d| now - d < scoring.dismiss_suppression_ms)
        {
            return false;
        }
        if o.caps.per_day.is_some_and(|cap| {
            h.recent.iter().filter(|&&t| t > now - 24 * HOUR).count() as u32 >= cap
        }) {
            return false;
        }
    }
    let bought = c.items_of(i).any(|it| {
        p.items
            .get(it)
            .and_then(|h| h.last_purchase)
            .is_some_and(|t| now - t < scoring.just_bought_ms)
    });
    !bought || o.buy_again
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn never_an_expired_capped_dismissed_or_just_bought_offer(c in arb_catalog(), (p, now) in arb_profile(), seed in any::<u64>(), count in 1usize..4) {
        let scoring = Scoring { exploration: 0.3, ..Scoring::default() };
        let ds = choose(&c, &p, &Settings::default(), &scoring, &Request::new(count, now), &mut SplitMix64(seed));
        for d in &ds {
            prop_assert!(eligible(&c, &p, d.offer, now), "{} chosen but ineligible", d.offer_id);
            if !p.paused && !p.is_empty() {
                prop_assert!(!c.excludes_of(d.offer).any(|t| p.interests.contains_key(t)));
            }
        }
        let mut ids: Vec<_> = ds.iter().map(|d| d.offer).collect();
        ids.sort();
        ids.dedup();
        prop_assert_eq!(ids.len(), ds.len(), "distinct offers");
    }

    #[test]
    fn the_binary_form_decides_as_the_json_form(c in arb_catalog(), (p, now) in arb_profile(), seed in any::<u64>()) {
        let binary = Catalog::from_bytes(&c.to_bytes()).unwrap();
        prop_assert_eq!(&binary, &c);
        let req = Request::new(3, now);
        let a = choose(&c, &p, &Settings::default(), &Scoring::default(), &req, &mut SplitMix64(seed));
        let b = choose(&binary, &p, &Settings::default(), &Scoring::default(), &req, &mut SplitMix64(seed));
        prop_assert_eq!(a, b);
    }

    #[test]
    fn same_inputs_same_decision(c in arb_catalog(), (p, now) in arb_profile(), seed in any::<u64>()) {
        let scoring = Scoring::default();
        let req = Request::new(3, now);
        let a = choose(&c, &p, &Settings::default(), &scoring, &req, &mut SplitMix64(seed));
        let b = choose(&c, &p, &Settings::default(), &scoring, &req, &mut SplitMix64(seed));
        prop_assert_eq!(a, b);
    }

    #[test]
    fn raising_an_interest_never_lets_an_offer_without_it_overtake_one_with_it(c in arb_catalog(), (p, now) in arb_profile(), tag in 0..TAGS.len(), extra in 1u32..5) {
        let s = Settings::default();
        let scoring = Scoring { exploration: 0.0, diversity: 0.0, ..Scoring::default() };
        prop_assume!(!p.paused && !p.is_empty());
        let tag = TAGS[tag];
        let order = |p: &Profile| -> Vec<String> {
            choose(&c, p, &s, &scoring, &Request::new(c.len(), now), &mut SplitMix64(0)).into_iter().map(|d| d.offer_id).collect()
        };
        let before = order(&p);
        let mut raised = p.clone();
        for _ in 0..extra {
            raised.record(&Event::new(EventKind::View, [tag]), now, &s).unwrap();
        }
        let after = order(&raised);
        let carries = |id: &str| c.tags_of(c.find(id).unwrap()).any(|(t, w)| t == tag && w > 0.0);
        for (i, with) in before.iter().enumerate() {
            for without in &before[i + 1..] {
                // `with` carried the tag and ranked above `without`, which lacks it: it still does.
                if carries(with) && !carries(without) && after.contains(with) && after.contains(without) {
                    let pos = |id: &String| after.iter().position(|x| x == id).unwrap();
                    prop_assert!(pos(with) < pos(without), "{} overtook {}", without, with);
                }
            }
        }
    }

    #[test]
    fn the_profile_stays_within_its_bounds_under_any_event_stream(events in proptest::collection::vec((arb_event(), 0u32..1000), 0..400), salt in 0u32..1000) {
        let s = Settings::default();
        let mut p = Profile::new();
        let mut t = T0;
        for (mut e, n) in events {
            // Many distinct long tags, to push every bound.
            e.tags.push(format!("tag-{}-{}", n + salt, "y".repeat(90)));
            t += 60_000;
            p.record(&e, t, &s).unwrap();
            p.note_impression(&format!("OFFER-{n}"), t, &s);
        }
        let len = p.shrink_to(MAX_STORED_BYTES, t, &s);
        prop_assert!(len <= MAX_STORED_BYTES);
        prop_assert_eq!(Profile::decode(&p.encode()).unwrap(), p);
    }

    #[test]
    fn no_catalog_text_panics(text in "\\PC{0,400}") {
        let _ = Catalog::from_json(&text);
    }

    #[test]
    fn no_catalog_shaped_json_panics(v in arb_json(3)) {
        let _ = Catalog::from_json(&json!({ "version": 1, "offers": [v] }).to_string());
        let _ = Catalog::from_json(&v.to_string());
    }

    #[test]
    fn no_event_panics(kind in "[a-z]{0,9}", tags in proptest::collection::vec("\\PC{0,140}", 0..40), item in proptest::option::of("\\PC{0,140}"), terms in proptest::option::of("\\PC{0,300}")) {
        let e = Event { kind, tags, item, offer: None, terms };
        let mut p = Profile::new();
        let before = p.clone();
        if p.record(&e, T0, &Settings::default()).is_err() {
            prop_assert_eq!(p, before);
        }
    }

    #[test]
    fn no_stored_text_panics(text in "\\PC{0,300}") {
        let _ = Profile::decode(&text);
    }
}

fn arb_json(depth: u32) -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-1e3f64..1e3).prop_map(|f| json!(f)),
        "[a-zA-Z:.]{0,8}".prop_map(Value::String),
    ];
    leaf.prop_recursive(depth, 32, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(
                prop_oneof![
                    Just("id".to_string()),
                    Just("tags".to_string()),
                    Just("caps".to_string()),
                    Just("perDay".to_string()),
                    Just("start".to_string()),
                    Just("items".to_string()),
                    "[a-z]{1,6}"
                ],
                inner,
                0..5
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4, ..ProptestConfig::default() })]

    /// Long lives: up to 100,000 events over a year, many distinct interests.
    #[test]
    fn long_event_streams_stay_bounded_keep_the_heavy_and_recent_and_decide_alike(seed in any::<u64>(), n in 20_000usize..100_000) {
        use pocketrank::rank::Random;
        let s = Settings::default();
        let mut rng = SplitMix64(seed);
        let mut p = Profile::new();
        let mut t = T0;
        let kinds = [EventKind::View, EventKind::View, EventKind::View, EventKind::Cart, EventKind::Purchase, EventKind::Search];
        for k in 0..n {
            t += 1 + rng.below(600_000) as i64;
            // A steady favourite, a long tail of one-off interests, and items.
            let tag = if k % 10 == 0 { "favourite".to_string() } else { format!("tail:{}", rng.below(5_000)) };
            let e = Event::new(kinds[rng.below(kinds.len())], [tag]).with_item(format!("sku-{}", rng.below(3_000)));
            p.record(&e, t, &s).unwrap();
        }
        let last = Event::new(EventKind::View, ["most-recent"]);
        p.record(&last, t, &s).unwrap();
        let len = p.shrink_to(MAX_STORED_BYTES, t, &s);
        prop_assert!(len <= MAX_STORED_BYTES, "{len}");
        prop_assert!(p.interests.len() <= pocketrank::profile::MAX_INTERESTS);
        prop_assert!(p.interests.contains_key("favourite"), "the heaviest interest survives");
        prop_assert!(p.interests.contains_key("most-recent"), "the most recent interest survives");
        let heaviest = p.interests.iter().max_by(|a, b| s.decay(a.1.weight, a.1.updated, t).total_cmp(&s.decay(b.1.weight, b.1.updated, t))).unwrap().0.clone();
        prop_assert_eq!(heaviest, "favourite");
        let c = Catalog::from_json(&json!({"version":1,"offers":[{"id":"F","tags":{"favourite":1}},{"id":"T","tags":{"tail:1":1,"tail:2":1}},{"id":"P","popularity":1}]}).to_string()).unwrap();
        let req = Request::new(3, t);
        let a = choose(&c, &p, &s, &Scoring::default(), &req, &mut SplitMix64(seed));
        let reloaded = Profile::decode(&p.encode()).unwrap();
        let b = choose(&c, &reloaded, &s, &Scoring::default(), &req, &mut SplitMix64(seed));
        prop_assert_eq!(&a, &b);
        prop_assert_eq!(a[0].offer_id.as_str(), "F");
    }
}

proptest! {
    /// "Picked for you" only when the profile changed the pick: a personal decision carries a
    /// personal term, and the same ranking without the profile would have picked otherwise.
    #[test]
    fn a_decision_says_personal_only_when_the_profile_changed_it(c in arb_catalog(), (p, now) in arb_profile(), seed in any::<u64>(), count in 1usize..4) {
        let scoring = Scoring { exploration: 0.0, ..Scoring::default() };
        let settings = Settings::default();
        let req = Request::new(count, now);
        let with = choose(&c, &p, &settings, &scoring, &req, &mut SplitMix64(seed));
        // The first pick, made again without the shopper's interests and items (what they
        // were shown and dismissed still counts): a personal pick is not that one. (A
        // purchase also keeps its offers out without the profile: such profiles are left
        // to the check below.)
        let blank = Profile { offers: p.offers.clone(), ..Profile::new() };
        let without = choose(&c, &blank, &settings, &scoring, &Request::new(1, now), &mut SplitMix64(seed));
        let bought = p.items.values().any(|h| h.last_purchase.is_some());
        if let (Some(d), Some(b), false) = (with.first(), without.first(), bought) {
            if d.reason == pocketrank::rank::Reason::Personal {
                prop_assert_ne!(&d.offer_id, &b.offer_id, "the profile did not change the first pick");
            }
        }
        for (k, d) in with.iter().enumerate() {
            if d.reason == pocketrank::rank::Reason::Personal {
                prop_assert!(d.contributions.iter().any(|x| x.is_personal()), "{:?}", d);
            } else {
                let text = pocketrank::rank::explain(d, &p, &c);
                prop_assert!(!text.starts_with("Picked for you"), "{} {}: {}", k, d.offer_id, text);
            }
        }
    }
}

proptest! {
    /// The explanation's terms are the score's terms: they add up to it, with a page context
    /// that names a tag twice (the slot and the context) too.
    #[test]
    fn the_contributions_add_up_to_the_score(c in arb_catalog(), (p, now) in arb_profile(), seed in any::<u64>(), ctx in proptest::collection::vec(0..TAGS.len(), 0..4)) {
        let scoring = Scoring { exploration: 0.0, ..Scoring::default() };
        let mut context: Vec<String> = ctx.iter().map(|&t| TAGS[t].to_string()).collect();
        if let Some(first) = context.first().cloned() {
            context.push(first);
        }
        let req = Request { context: &context, count: 3, now, exclude: &[] };
        for d in choose(&c, &p, &Settings::default(), &scoring, &req, &mut SplitMix64(seed)) {
            let sum: f32 = d.contributions.iter().map(|x| x.amount).sum();
            prop_assert!((sum - d.score).abs() <= 1e-4 * (1.0 + d.score.abs()), "{}: terms {} ≠ score {} ({:?})", d.offer_id, sum, d.score, d.contributions);
        }
    }

    /// The binary form decides exactly as the JSON it was packed from.
    #[test]
    fn json_then_binary_decides_as_json(c in arb_catalog(), (p, now) in arb_profile(), seed in any::<u64>(), count in 1usize..4) {
        let packed = Catalog::from_bytes(&c.to_bytes()).unwrap();
        let scoring = Scoring::default();
        let req = Request::new(count, now);
        let a = choose(&c, &p, &Settings::default(), &scoring, &req, &mut SplitMix64(seed));
        let b = choose(&packed, &p, &Settings::default(), &scoring, &req, &mut SplitMix64(seed));
        prop_assert_eq!(a, b);
        prop_assert_eq!(c.content_hash(), packed.content_hash());
    }
}

/// A large catalog (more offers than the ranking's shortlist), its scores drawn from a few
/// values so that many tie: tags, popularity and boost only (no dates, caps or rules).
fn arb_large_catalog() -> impl Strategy<Value = Catalog> {
    (
        proptest::collection::vec(
            (proptest::collection::btree_map(0..TAGS.len(), 1u8..=3, 0..3), 0u8..4, 0u8..3),
            100..1500,
        ),
        proptest::option::of(0usize..100),
    )
        .prop_map(|(offers, fallback)| {
            let offers: Vec<Value> = offers
                .into_iter()
                .enumerate()
                .map(|(i, (tags, pop, boost))| {
                    let tags: serde_json::Map<String, Value> =
                        tags.into_iter().map(|(t, w)| (TAGS[t].to_string(), json!(w as f64 / 4.0))).collect();
                    json!({ "id": format!("O{i}"), "tags": tags, "popularity": pop as f64 / 4.0, "boost": boost as f64 / 10.0 })
                })
                .collect();
            let mut c = json!({ "version": 1, "offers": offers });
            if let Some(f) = fallback {
                c["fallback"] = json!(format!("O{f}"));
            }
            Catalog::from_json(&c.to_string()).unwrap()
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Without exploration or diversity the choice is the best offers by score, ties to the
    /// earlier offer (the fallback first for an empty profile): what a stable sort of the
    /// whole catalog gives, whatever shortcut the ranking takes to it.
    #[test]
    fn the_choice_is_the_top_of_a_stable_sort_of_the_whole_catalog(c in arb_large_catalog(), events in proptest::collection::vec(arb_event(), 0..12), count in 1usize..12) {
        let s = Settings::default();
        let mut p = Profile::new();
        for (k, e) in events.iter().enumerate() {
            p.record(e, T0 + k as i64 * 60_000, &s).unwrap();
        }
        let now = T0 + HOUR;
        let scoring = Scoring { exploration: 0.0, diversity: 0.0, ..Scoring::default() };
        let req = Request::new(count, now);
        let chosen: Vec<usize> = choose(&c, &p, &s, &scoring, &req, &mut SplitMix64(1)).iter().map(|d| d.offer).collect();
        // Every offer but those the shopper dismissed (a click or dismissal names one).
        let all: Vec<(usize, pocketrank::rank::Reason)> = (0..c.len()).filter(|&i| eligible(&c, &p, i, now)).map(|i| (i, pocketrank::rank::Reason::Personal)).collect();
        let mut scored: Vec<(f32, usize)> = pocketrank::rank::decisions_for(&c, &p, &s, &scoring, &req, &all).iter().map(|d| (d.score, d.offer)).collect();
        let mut want = Vec::new();
        if p.is_empty() {
            if let Some(f) = c.fallback().filter(|&f| eligible(&c, &p, f, now)) {
                want.push(f);
                scored.retain(|&(_, i)| i != f);
            }
        }
        scored.sort_by(|a, b| b.0.total_cmp(&a.0));
        want.extend(scored.iter().map(|&(_, i)| i));
        want.truncate(count.min(c.len()));
        prop_assert_eq!(chosen, want);
    }
}

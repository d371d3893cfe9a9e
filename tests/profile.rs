//! The profile: events, decay, retention, bounds and the stored form.
#![cfg(not(target_arch = "wasm32"))]

use pocketrank::profile::{
    Event, EventKind, Profile, Settings, MAX_INTERESTS, MAX_ITEMS, MAX_RECENT, MAX_STORED_BYTES,
};
use pocketrank::Code;

const DAY: i64 = 86_400_000;
const T0: i64 = 1_795_910_400_000;

fn view(tags: &[&str]) -> Event {
    Event::new(EventKind::View, tags.iter().copied())
}

#[test]
fn a_weight_halves_at_its_half_life() {
    let s = Settings::default();
    let mut p = Profile::new();
    p.record(&view(&["category:running"]), T0, &s).unwrap();
    let w0 = p.interest_weight("category:running", T0, &s);
    let w1 = p.interest_weight("category:running", T0 + s.half_life_ms, &s);
    let w2 = p.interest_weight("category:running", T0 + 2 * s.half_life_ms, &s);
    assert!(
        (w1 - w0 / 2.0).abs() < 1e-9 && (w2 - w0 / 4.0).abs() < 1e-9,
        "{w0} {w1} {w2}"
    );
}

#[test]
fn heavier_kinds_teach_more_than_views() {
    let s = Settings::default();
    let mut p = Profile::new();
    p.record(&view(&["a"]), T0, &s).unwrap();
    p.record(
        &Event::new(EventKind::Purchase, ["b"]).with_item("sku"),
        T0,
        &s,
    )
    .unwrap();
    assert!(p.interest_weight("b", T0, &s) > p.interest_weight("a", T0, &s));
    assert_eq!(p.items["sku"].counts, [0, 0, 1]);
    assert_eq!(p.items["sku"].last_purchase, Some(T0));
}

#[test]
fn bad_events_are_refused_and_change_nothing() {
    let s = Settings::default();
    let mut p = Profile::new();
    p.record(&view(&["a"]), T0, &s).unwrap();
    let before = p.clone();
    let cases = [
        (
            Event {
                kind: "stare".into(),
                tags: vec!["a".into()],
                ..Default::default()
            },
            Code::EventUnknownKind,
        ),
        (view(&[]), Code::EventEmptyTags),
        (view(&[""]), Code::EventInvalidTag),
        (view(&["bad\u{0}tag"]), Code::EventInvalidTag),
        (view(&[&"x".repeat(200)]), Code::EventTooLong),
        (view(&["a"]).with_item("y".repeat(200)), Code::EventTooLong),
        (
            Event::new(EventKind::Search, Vec::<String>::new()).with_terms("a"),
            Code::EventEmptyTags,
        ),
        (Event::new(EventKind::Dismiss, ["a"]), Code::EventInvalid),
    ];
    for (event, code) in cases {
        assert_eq!(
            p.record(&event, T0 + 1, &s).unwrap_err().code,
            code,
            "{event:?}"
        );
        assert_eq!(p, before);
    }
    let many: Vec<String> = (0..40).map(|i| format!("t{i}")).collect();
    assert_eq!(
        p.record(&Event::new(EventKind::View, many), T0, &s)
            .unwrap_err()
            .code,
        Code::EventTooLong
    );
}

#[test]
fn interests_not_refreshed_within_retention_are_dropped() {
    let s = Settings::default();
    let mut p = Profile::new();
    p.record(&view(&["old"]), T0, &s).unwrap();
    p.record(&view(&["new"]), T0 + s.retention_ms, &s).unwrap();
    assert!(p.interests.contains_key("old"));
    p.record(&view(&["new"]), T0 + s.retention_ms + DAY, &s)
        .unwrap();
    assert!(!p.interests.contains_key("old"));
    assert!(p.interests.contains_key("new"));
}

#[test]
fn paused_profiles_record_nothing() {
    let s = Settings::default();
    let mut p = Profile {
        paused: true,
        ..Profile::new()
    };
    assert!(!p.record(&view(&["a"]), T0, &s).unwrap());
    assert!(p.is_empty());
}

#[test]
fn the_profile_keeps_its_heaviest_interests_within_its_bounds() {
    let s = Settings::default();
    let mut p = Profile::new();
    for i in 0..20 {
        p.record(
            &Event::new(EventKind::Purchase, [format!("heavy{i}")]),
            T0,
            &s,
        )
        .unwrap();
    }
    for i in 0..500 {
        p.record(&view(&[&format!("light{i}")]), T0 + i, &s)
            .unwrap();
    }
    assert_eq!(p.interests.len(), MAX_INTERESTS);
    assert!((0..20).all(|i| p.interests.contains_key(&format!("heavy{i}"))));
    // The most recent light interest also survived (same weight, newer).
    assert!(p.interests.contains_key("light499"));
}

#[test]
fn the_stored_form_round_trips_and_stays_under_its_byte_bound() {
    let s = Settings::default();
    let mut p = Profile::new();
    for i in 0..300 {
        let tag = format!("category:{}:{}", "x".repeat(100), i);
        p.record(
            &Event::new(EventKind::Cart, [tag]).with_item(format!("{}-{i}", "sku".repeat(40))),
            T0 + i,
            &s,
        )
        .unwrap();
        p.note_impression(&format!("OFFER-{}-{i}", "o".repeat(100)), T0 + i, &s);
    }
    let len = p.shrink_to(MAX_STORED_BYTES, T0 + 300, &s);
    let text = p.encode();
    assert_eq!(text.len(), len);
    assert!(len <= MAX_STORED_BYTES, "{len}");
    assert!(!p.interests.is_empty());
    assert_eq!(Profile::decode(&text).unwrap(), p);
}

#[test]
fn unreadable_stored_values_are_refused_not_guessed() {
    for bad in [
        "",
        "garbage",
        "{\"v\":1,\"i\":[[\"a\",\"heavy\",0,0,0,[0,0,0,0,0,0]]]}",
        "{\"v\":1,\"i\":[[\"a\",-1,0,0,0,[0,0,0,0,0,0]]]}",
        "{\"v\":\"1\"}",
        "{\"v\":1,\"i\":[[\"a\",1,0,0,0,[0,0,0,0,0,0]],[\"a\",1,0,0,0,[0,0,0,0,0,0]]]}",
    ] {
        assert_eq!(
            Profile::decode(bad).unwrap_err().code,
            Code::ProfileInvalid,
            "{bad}"
        );
    }
    let s = Settings::default();
    let mut p = Profile::new();
    p.record(&view(&["a", "b"]), T0, &s).unwrap();
    let text = p.encode();
    assert_eq!(
        Profile::decode(&text[..text.len() - 3]).unwrap_err().code,
        Code::ProfileInvalid
    );
}

#[test]
fn the_schema_1_fixture_loads_without_loss() {
    let text = include_str!("fixtures/profile-v1.json");
    let p = Profile::decode(text).unwrap();
    assert_eq!(p.interests.len(), 3);
    assert_eq!(p.interests["category:running"].counts, [4, 1, 1, 0, 0, 0]);
    assert_eq!(p.items["sku-1"].last_purchase, Some(1795305600000));
    assert_eq!(p.offers["RUN-10"].total, 2);
    assert_eq!(p.offers["BAKE-5"].dismissed, Some(1795300000000));
    assert!(!p.paused);
    assert_eq!(Profile::decode(&p.encode()).unwrap(), p);
}

/// Found by fuzzing (fuzz/seeds/profile/regression-huge-weight.json): a stored weight of
/// 1.7e48 did not survive writing and reading back (the last digits changed).
#[test]
fn stored_weights_are_bounded_and_read_back_exactly() {
    let huge = include_str!("../fuzz/seeds/profile/regression-huge-weight.json");
    assert_eq!(
        Profile::decode(huge).unwrap_err().code,
        Code::ProfileInvalid
    );
    for w in ["0.123456789", "12345.6789", "1e-7", "999999999", "3"] {
        let text = format!(
            r#"{{"v":1,"i":[["t",{w},0,0,0,[1,0,0,0,0,0]]],"t":[["s",{w},0,0,null,[1,0,0]]]}}"#
        );
        let p = Profile::decode(&text).unwrap();
        assert_eq!(Profile::decode(&p.encode()).unwrap(), p, "{w}");
    }
    // Recording can never make a profile unreadable.
    let s = Settings {
        kind_weights: [100.0; 6],
        ..Settings::default()
    };
    let mut p = Profile::new();
    for _ in 0..200 {
        p.record(&view(&["a"]), T0, &s).unwrap();
    }
    assert!(p.interests["a"].weight <= pocketrank::profile::MAX_WEIGHT);
    assert_eq!(Profile::decode(&p.encode()).unwrap(), p);
}

#[test]
fn sensitive_tags_and_their_items_are_never_recorded() {
    let s = Settings::default();
    let mut p = Profile::new();
    let e = Event::new(EventKind::Purchase, ["health:diabetes", "category:food"])
        .with_item("glucose-strips");
    assert!(
        p.record(&e, T0, &s).unwrap(),
        "the rest of the event is recorded"
    );
    assert!(p.interests.contains_key("category:food"));
    assert!(!p.interests.contains_key("health:diabetes"));
    assert!(p.items.is_empty(), "the item would say the same thing");
    assert!(!p
        .record(
            &Event::new(EventKind::View, ["Religion:x", "politics"]),
            T0,
            &s
        )
        .unwrap());
    assert!(!p.encode().contains("health") && !p.encode().contains("glucose"));
    let site = Settings {
        sensitive: vec!["lingerie".into()],
        ..Settings::default()
    };
    p.record(&view(&["lingerie:lace"]), T0, &site).unwrap();
    assert!(!p.interests.contains_key("lingerie:lace"));
}

#[test]
fn the_latest_items_are_kept_in_order_each_once_within_their_bound() {
    let s = Settings::default();
    let mut p = Profile::new();
    let item = |k: usize| format!("sku-{k}");
    for k in 0..MAX_RECENT + 5 {
        p.record(&view(&["category:a"]).with_item(item(k)), T0 + k as i64, &s)
            .unwrap();
    }
    let want: Vec<String> = (5..MAX_RECENT + 5).map(item).collect();
    assert_eq!(p.recent, want, "the newest MAX_RECENT, oldest first");
    // Seen again: it moves to the end, once.
    p.record(&view(&["category:a"]).with_item(item(7)), T0 + 100, &s)
        .unwrap();
    assert_eq!(p.recent.last(), Some(&item(7)));
    assert_eq!(p.recent.iter().filter(|r| **r == item(7)).count(), 1);
    assert_eq!(p.recent.len(), MAX_RECENT);
    // A change applied late (another tab's, with an earlier time) lands where its time says.
    p.record(&view(&["category:a"]).with_item("late"), T0 + 50, &s)
        .unwrap();
    assert_eq!(p.recent[p.recent.len() - 2], "late");
    // Forgetting an item forgets it here too; a search or a sensitive event adds nothing.
    assert!(p.forget_item(&item(7)));
    assert!(!p.recent.contains(&item(7)));
    p.record(&view(&["health:x"]).with_item("pills"), T0 + 200, &s)
        .unwrap();
    assert!(!p.recent.contains(&"pills".to_string()));
    // Written and read back exactly.
    assert_eq!(Profile::decode(&p.encode()).unwrap(), p);
}

#[test]
fn recent_items_outlive_heavier_old_items_when_the_item_history_is_full() {
    let s = Settings::default();
    let mut p = Profile::new();
    for k in 0..MAX_ITEMS {
        let e = Event::new(EventKind::Purchase, ["category:a"]).with_item(format!("old-{k}"));
        p.record(&e, T0, &s).unwrap();
    }
    // Light views of new items, one a minute: each is lighter than any old purchase.
    for k in 0..MAX_RECENT {
        p.record(
            &view(&["category:a"]).with_item(format!("new-{k}")),
            T0 + (k as i64 + 1) * 60_000,
            &s,
        )
        .unwrap();
    }
    assert_eq!(p.items.len(), MAX_ITEMS);
    let want: Vec<String> = (0..MAX_RECENT).map(|k| format!("new-{k}")).collect();
    assert_eq!(p.recent, want);
    assert!(p.recent.iter().all(|r| p.items.contains_key(r)));
}

#[test]
fn a_profile_without_recent_items_still_loads_and_bad_recent_lists_are_refused() {
    // Written before recent items existed (no "r"): loads, with none.
    let p = Profile::decode(include_str!("fixtures/profile-v1.json")).unwrap();
    assert!(p.recent.is_empty());
    let item = r#"["sku-1",1,0,0,null,[1,0,0]]"#;
    let ok = format!(r#"{{"v":1,"t":[{item}],"r":["sku-1"]}}"#);
    assert_eq!(Profile::decode(&ok).unwrap().recent, ["sku-1"]);
    let items: Vec<String> = (0..=MAX_RECENT)
        .map(|k| format!(r#"["s{k}",1,0,0,null,[1,0,0]]"#))
        .collect();
    let names: Vec<String> = (0..=MAX_RECENT).map(|k| format!("\"s{k}\"")).collect();
    for bad in [
        format!(r#"{{"v":1,"t":[{item}],"r":["sku-2"]}}"#),
        format!(r#"{{"v":1,"t":[{item}],"r":["sku-1","sku-1"]}}"#),
        format!(
            r#"{{"v":1,"t":[{}],"r":[{}]}}"#,
            items.join(","),
            names.join(",")
        ),
    ] {
        assert_eq!(
            Profile::decode(&bad).unwrap_err().code,
            Code::ProfileInvalid,
            "{bad}"
        );
    }
}

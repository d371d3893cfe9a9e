//! Ranking: what is chosen, what never is, and why.
#![cfg(not(target_arch = "wasm32"))]

use pocketrank::profile::{Event, EventKind, Profile, Settings};
use pocketrank::rank::{choose, explain, Factor, Reason, Request, Scoring, SplitMix64};
use pocketrank::Catalog;
use serde_json::json;

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;
const T0: i64 = 1_795_910_400_000;

fn shop() -> Catalog {
    Catalog::from_json(
        &json!({ "version": 1, "id": "shop", "fallback": "GENERIC",
          "offers": [
            { "id": "RUN", "tags": { "category:running": 1.0, "brand:acme": 0.3 }, "items": ["shoe-1"], "popularity": 0.2 },
            { "id": "TRAIL", "tags": { "category:running": 0.9, "terrain:trail": 0.6 }, "popularity": 0.1 },
            { "id": "BAKE", "tags": { "category:baking": 1.0 }, "popularity": 0.3 },
            { "id": "GARDEN", "tags": { "category:garden": 1.0 }, "popularity": 0.9 },
            { "id": "GENERIC", "tags": {}, "popularity": 0.5 }
          ] })
        .to_string(),
    )
    .unwrap()
}

fn no_explore() -> Scoring {
    Scoring {
        exploration: 0.0,
        ..Scoring::default()
    }
}

fn profile_of(events: &[Event], now: i64) -> Profile {
    let mut p = Profile::new();
    for e in events {
        p.record(e, now, &Settings::default()).unwrap();
    }
    p
}

fn pick(
    catalog: &Catalog,
    p: &Profile,
    context: &[String],
    count: usize,
    now: i64,
    scoring: &Scoring,
) -> Vec<String> {
    let req = Request {
        exclude: &[],
        context,
        count,
        now,
    };
    choose(
        catalog,
        p,
        &Settings::default(),
        scoring,
        &req,
        &mut SplitMix64(1),
    )
    .into_iter()
    .map(|d| d.offer_id)
    .collect()
}

#[test]
fn a_runner_gets_a_running_offer_and_a_baker_a_baking_offer() {
    let c = shop();
    let runner = profile_of(
        &[
            Event::new(EventKind::View, ["category:running"]),
            Event::new(EventKind::Purchase, ["category:running", "brand:acme"]),
        ],
        T0,
    );
    let baker = profile_of(
        &[
            Event::new(EventKind::View, ["category:baking"]),
            Event::new(EventKind::Purchase, ["category:baking"]),
        ],
        T0,
    );
    assert_eq!(pick(&c, &runner, &[], 1, T0, &no_explore()), ["RUN"]);
    assert_eq!(pick(&c, &baker, &[], 1, T0, &no_explore()), ["BAKE"]);
}

#[test]
fn an_empty_or_paused_profile_gets_the_fallback() {
    let c = shop();
    let d = choose(
        &c,
        &Profile::new(),
        &Settings::default(),
        &Scoring::default(),
        &Request::new(1, T0),
        &mut SplitMix64(1),
    );
    assert_eq!(
        (d[0].offer_id.as_str(), d[0].reason),
        ("GENERIC", Reason::Fallback)
    );
    let mut paused = profile_of(&[Event::new(EventKind::View, ["category:baking"])], T0);
    paused.paused = true;
    assert_eq!(pick(&c, &paused, &[], 1, T0, &no_explore()), ["GENERIC"]);
    // Without a fallback, the non-personal best (priors and page context) is chosen.
    let plain = Catalog::from_json(
        &json!({"version":1,"offers":[{"id":"A","popularity":0.1},{"id":"B","popularity":0.7}]})
            .to_string(),
    )
    .unwrap();
    let d = choose(
        &plain,
        &Profile::new(),
        &Settings::default(),
        &Scoring::default(),
        &Request::new(1, T0),
        &mut SplitMix64(1),
    );
    assert_eq!(
        (d[0].offer_id.as_str(), d[0].reason),
        ("B", Reason::Popular)
    );
}

#[test]
fn page_context_steers_the_choice() {
    let c = shop();
    let p = profile_of(&[Event::new(EventKind::View, ["category:running"])], T0);
    let ctx = vec!["terrain:trail".to_string()];
    assert_eq!(pick(&c, &p, &ctx, 1, T0, &no_explore()), ["TRAIL"]);
}

#[test]
fn offers_outside_their_dates_are_never_chosen() {
    let c = Catalog::from_json(
        &json!({"version":1,"offers":[
        {"id":"LATER","tags":{"a":1},"start":"2026-12-01T00:00:00Z"},
        {"id":"OVER","tags":{"a":1},"end":"2026-11-29T00:00:00Z"},
        {"id":"NOW","tags":{"a":0.1}}]})
        .to_string(),
    )
    .unwrap();
    let p = profile_of(&[Event::new(EventKind::View, ["a"])], T0);
    assert_eq!(pick(&c, &p, &[], 3, T0, &no_explore()), ["NOW"]);
}

#[test]
fn requires_and_excludes_follow_the_profile_and_context() {
    let c = Catalog::from_json(
        &json!({"version":1,"offers":[
        {"id":"KIDS-ONLY","tags":{"a":1},"requires":["category:kids"]},
        {"id":"NO-KIDS","tags":{"a":0.9},"excludes":["category:kids"]}]})
        .to_string(),
    )
    .unwrap();
    let adult = profile_of(&[Event::new(EventKind::View, ["a"])], T0);
    assert_eq!(pick(&c, &adult, &[], 2, T0, &no_explore()), ["NO-KIDS"]);
    let parent = profile_of(&[Event::new(EventKind::View, ["a", "category:kids"])], T0);
    assert_eq!(pick(&c, &parent, &[], 2, T0, &no_explore()), ["KIDS-ONLY"]);
    assert_eq!(
        pick(&c, &adult, &["category:kids".into()], 2, T0, &no_explore()),
        ["KIDS-ONLY"]
    );
}

#[test]
fn caps_stop_an_offer_until_its_window_has_passed() {
    let c = Catalog::from_json(
        &json!({"version":1,"offers":[
        {"id":"CAPPED","tags":{"a":1},"caps":{"perHour":1,"perDay":2}},
        {"id":"OTHER","tags":{"a":0.1}}]})
        .to_string(),
    )
    .unwrap();
    let s = Settings::default();
    let mut p = profile_of(&[Event::new(EventKind::View, ["a"])], T0);
    assert_eq!(pick(&c, &p, &[], 1, T0, &no_explore()), ["CAPPED"]);
    p.note_impression("CAPPED", T0, &s);
    assert_eq!(pick(&c, &p, &[], 1, T0 + 10, &no_explore()), ["OTHER"]);
    assert_eq!(pick(&c, &p, &[], 1, T0 + HOUR, &no_explore()), ["CAPPED"]);
    p.note_impression("CAPPED", T0 + HOUR, &s);
    assert_eq!(
        pick(&c, &p, &[], 1, T0 + 3 * HOUR, &no_explore()),
        ["OTHER"],
        "two a day"
    );
    assert_eq!(
        pick(&c, &p, &[], 1, T0 + DAY + 1, &no_explore()),
        ["CAPPED"]
    );
}

#[test]
fn a_dismissed_offer_is_suppressed_for_48_hours() {
    let c = shop();
    let s = Settings::default();
    let mut p = profile_of(
        &[Event::new(
            EventKind::View,
            ["category:running", "brand:acme"],
        )],
        T0,
    );
    p.record(
        &Event::new(EventKind::Dismiss, Vec::<String>::new()).with_offer("RUN"),
        T0,
        &s,
    )
    .unwrap();
    assert!(!pick(&c, &p, &[], 5, T0 + 47 * HOUR, &no_explore()).contains(&"RUN".to_string()));
    assert!(pick(&c, &p, &[], 5, T0 + 49 * HOUR, &no_explore()).contains(&"RUN".to_string()));
}

#[test]
fn what_was_just_bought_is_offered_only_by_buy_again_offers() {
    let c = Catalog::from_json(
        &json!({"version":1,"offers":[
        {"id":"SHOE","tags":{"running":1},"items":["shoe-1"]},
        {"id":"SHOE-AGAIN","tags":{"running":0.5},"items":["shoe-1"],"buyAgain":true},
        {"id":"SOCKS","tags":{"running":0.2}}]})
        .to_string(),
    )
    .unwrap();
    let p = profile_of(
        &[Event::new(EventKind::Purchase, ["running"]).with_item("shoe-1")],
        T0,
    );
    assert_eq!(
        pick(&c, &p, &[], 3, T0 + DAY, &no_explore()),
        ["SHOE-AGAIN", "SOCKS"]
    );
    assert_eq!(pick(&c, &p, &[], 1, T0 + 8 * DAY, &no_explore()), ["SHOE"]);
}

#[test]
fn item_history_lifts_offers_about_those_items() {
    let c = Catalog::from_json(
        &json!({"version":1,"offers":[
        {"id":"GENERAL","tags":{"category:running":1.0}},
        {"id":"THAT-SHOE","tags":{"category:running":0.8},"items":["shoe-9"]}]})
        .to_string(),
    )
    .unwrap();
    let p = profile_of(
        &[
            Event::new(EventKind::View, ["category:running"]).with_item("shoe-9"),
            Event::new(EventKind::Cart, ["category:running"]).with_item("shoe-9"),
        ],
        T0,
    );
    assert_eq!(pick(&c, &p, &[], 1, T0, &no_explore()), ["THAT-SHOE"]);
}

#[test]
fn among_items_bought_alike_the_staple_comes_first_and_unknown_items_get_no_repeat_prior() {
    // Two groceries bought in the same basket, one that most shoppers buy (a staple) and one
    // that few do, and a very popular item the shopper never bought.
    let c = Catalog::from_json(
        &json!({"version":1,"offers":[
        {"id":"ONE-OFF","tags":{"aisle:1":1.0},"items":["saffron"],"popularity":0.1,"buyAgain":true},
        {"id":"STAPLE","tags":{"aisle:1":1.0},"items":["milk"],"popularity":0.9,"buyAgain":true},
        {"id":"UNKNOWN","tags":{"aisle:1":1.0},"items":["bread"],"popularity":1.0,"buyAgain":true}]})
        .to_string(),
    )
    .unwrap();
    let p = profile_of(
        &[
            Event::new(EventKind::Purchase, ["aisle:1"]).with_item("saffron"),
            Event::new(EventKind::Purchase, ["aisle:1"]).with_item("milk"),
        ],
        T0,
    );
    let s = no_explore();
    let req = Request::new(3, T0 + DAY);
    let d = choose(&c, &p, &Settings::default(), &s, &req, &mut SplitMix64(1));
    let ids: Vec<&str> = d.iter().map(|d| d.offer_id.as_str()).collect();
    assert_eq!(ids, ["STAPLE", "ONE-OFF", "UNKNOWN"]);
    let score = |id: &str| d.iter().find(|d| d.offer_id == id).unwrap().score;
    // The staple's lead is the popularity prior plus the repeat prior, on the popularity gap.
    let lead = score("STAPLE") - score("ONE-OFF");
    assert!(
        (lead - (s.popularity + s.repeat) * 0.8).abs() < 1e-4,
        "{lead}"
    );
    // The unknown item's only prior is the plain popularity prior.
    let aisle = p.interest_weight("aisle:1", T0 + DAY, &Settings::default());
    let interest = s.affinity * (aisle / (aisle + s.saturation as f64)) as f32;
    assert!((score("UNKNOWN") - (interest + s.popularity * 1.0)).abs() < 1e-4);
    // Without the repeat prior the gap is the plain popularity prior's.
    let plain = Scoring {
        repeat: 0.0,
        ..no_explore()
    };
    let d = choose(
        &c,
        &p,
        &Settings::default(),
        &plain,
        &req,
        &mut SplitMix64(1),
    );
    let score = |id: &str| d.iter().find(|d| d.offer_id == id).unwrap().score;
    let lead = score("STAPLE") - score("ONE-OFF");
    assert!((lead - plain.popularity * 0.8).abs() < 1e-4, "{lead}");
}

#[test]
fn several_slots_get_distinct_and_diverse_offers() {
    let c = shop();
    let p = profile_of(
        &[
            Event::new(EventKind::Purchase, ["category:running", "brand:acme"]),
            Event::new(EventKind::View, ["terrain:trail"]),
            Event::new(EventKind::View, ["category:baking"]),
            Event::new(EventKind::View, ["category:baking"]),
        ],
        T0,
    );
    let three = pick(&c, &p, &[], 3, T0, &no_explore());
    assert_eq!(three.len(), 3);
    assert_eq!(three[0], "RUN");
    // TRAIL scores higher than BAKE but is mostly the same running offer again.
    let no_div = pick(
        &c,
        &p,
        &[],
        3,
        T0,
        &Scoring {
            diversity: 0.0,
            exploration: 0.0,
            ..Scoring::default()
        },
    );
    assert_eq!(no_div[1], "TRAIL");
    assert_eq!(three[1], "BAKE");
    let mut sorted = three.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 3);
}

#[test]
fn exploration_sometimes_shows_another_eligible_offer_and_says_so() {
    let c = shop();
    let p = profile_of(&[Event::new(EventKind::Purchase, ["category:running"])], T0);
    let scoring = Scoring {
        exploration: 0.5,
        ..Scoring::default()
    };
    let mut rng = SplitMix64(42);
    let mut explored = 0;
    for _ in 0..400 {
        let d = choose(
            &c,
            &p,
            &Settings::default(),
            &scoring,
            &Request::new(1, T0),
            &mut rng,
        );
        if d[0].reason == Reason::Explore {
            explored += 1;
        } else {
            assert_eq!(d[0].offer_id, "RUN");
        }
    }
    assert!(
        (150..250).contains(&explored),
        "{explored} of 400 at rate 0.5"
    );
}

#[test]
fn the_explanation_names_the_interests_behind_the_offer() {
    let c = shop();
    let p = profile_of(
        &[
            Event::new(EventKind::View, ["category:running"]),
            Event::new(EventKind::View, ["category:running", "brand:acme"]),
        ],
        T0,
    );
    let d = choose(
        &c,
        &p,
        &Settings::default(),
        &no_explore(),
        &Request::new(1, T0),
        &mut SplitMix64(1),
    );
    assert_eq!(
        d[0].contributions[0].factor,
        Factor::Interest("category:running".into())
    );
    // The shop's catalog labels neither tag: described, never shown by their codes.
    let text = explain(&d[0], &p, &c);
    assert!(
        text.contains("you looked at items in this category 2 times"),
        "{text}"
    );
    assert!(
        !text.contains("running") && !text.contains("acme"),
        "{text}"
    );
    let fallback = choose(
        &c,
        &Profile::new(),
        &Settings::default(),
        &no_explore(),
        &Request::new(1, T0),
        &mut SplitMix64(1),
    );
    assert!(explain(&fallback[0], &Profile::new(), &c).contains("not based on your activity"));
}

#[test]
fn excluded_offers_are_not_chosen() {
    let c = shop();
    let p = profile_of(
        &[Event::new(
            EventKind::Purchase,
            ["category:running", "brand:acme"],
        )],
        T0,
    );
    let exclude = vec!["RUN".to_string()];
    let req = Request {
        exclude: &exclude,
        context: &[],
        count: 5,
        now: T0,
    };
    let ids: Vec<String> = choose(
        &c,
        &p,
        &Settings::default(),
        &Scoring::default(),
        &req,
        &mut SplitMix64(3),
    )
    .into_iter()
    .map(|d| d.offer_id)
    .collect();
    assert!(
        !ids.contains(&"RUN".to_string()) && ids.len() == 4,
        "{ids:?}"
    );
}

#[test]
fn with_several_slots_the_first_always_holds_the_best_offer() {
    let c = shop();
    let p = profile_of(
        &[Event::new(
            EventKind::Purchase,
            ["category:running", "brand:acme"],
        )],
        T0,
    );
    let scoring = Scoring {
        exploration: 0.9,
        ..Scoring::default()
    };
    let mut rng = SplitMix64(9);
    let mut explored_later = 0;
    for _ in 0..100 {
        let d = choose(
            &c,
            &p,
            &Settings::default(),
            &scoring,
            &Request::new(3, T0),
            &mut rng,
        );
        assert_eq!(
            (d[0].offer_id.as_str(), d[0].reason),
            ("RUN", Reason::Personal)
        );
        explored_later += d[1..]
            .iter()
            .filter(|x| x.reason == Reason::Explore)
            .count();
    }
    assert!(explored_later > 100, "{explored_later}");
}

//! The privacy safeguards wired into the engine: the budget, the ledger, the catalog guards,
//! private choice and the shopper's sensitive list, kept in the store beside the profile.
#![cfg(not(target_arch = "wasm32"))]

use pocketrank::privacy::{PrivacySettings, ReportMode};
use pocketrank::profile::{Event, EventKind, Settings};
use pocketrank::rank::{Request, Scoring, SplitMix64};
use pocketrank::safeguard::Guard;
use pocketrank::store::{self, ProfileStore};
use pocketrank::{Catalog, Code, Engine, Reason};
mod common;
use common::Shared;

const T0: i64 = 1_795_910_400_000;
const DAY: i64 = 86_400_000;

fn open(store: &Shared, privacy: PrivacySettings, now: i64) -> Engine {
    let mut e = Engine::open(
        Box::new(store.clone()),
        "shop",
        Settings::default(),
        Scoring {
            exploration: 0.0,
            ..Scoring::default()
        },
        now,
    )
    .unwrap();
    e.set_privacy(privacy, now).unwrap();
    e
}

fn noised(budget: f64) -> PrivacySettings {
    PrivacySettings {
        mode: ReportMode::Noised,
        epsilon_per_report: 1.0,
        budget_per_window: budget,
        ..PrivacySettings::default()
    }
}

/// `n` offers: `RUN` (running) first, the rest about other things.
fn catalog(n: usize, salt: &str) -> Catalog {
    let mut offers = vec![r#"{"id":"RUN","tags":{"category:running":1}}"#.to_string()];
    for i in 1..n {
        offers.push(format!(
            r#"{{"id":"O{i}{salt}","tags":{{"category:other{i}":1}},"popularity":0.5}}"#
        ));
    }
    Catalog::from_json(&format!(
        r#"{{"version":1,"offers":[{}]}}"#,
        offers.join(",")
    ))
    .unwrap()
}

fn runner(e: &mut Engine, now: i64) {
    e.record(&Event::new(EventKind::Purchase, ["category:running"]), now)
        .unwrap();
}

fn pick(e: &mut Engine, c: &Catalog, now: i64) -> pocketrank::Decision {
    let mut rng = SplitMix64(now as u64);
    e.choose(c, &Request::new(1, now), &mut rng, false)
        .remove(0)
}

#[test]
fn the_default_reports_the_exact_offer_and_logs_it_without_spending() {
    let s = Shared::default();
    let mut e = open(&s, PrivacySettings::default(), T0);
    runner(&mut e, T0);
    let c = catalog(6, "");
    let d = pick(&mut e, &c, T0);
    assert_eq!(d.offer_id, "RUN");
    let mut rng = SplitMix64(1);
    for i in 0..20 {
        let body = e.report_body(&c, &d, &mut rng);
        assert_eq!(body, "RUN");
        assert!(
            e.log_report(&body, "/r", T0 + i).is_some(),
            "never withheld"
        );
    }
    let v = e.privacy_view(T0 + 20);
    assert_eq!(v.mode, "exact");
    assert_eq!(v.remaining, None);
    assert_eq!(v.ledger.len(), 20);
    assert!(v
        .ledger
        .iter()
        .all(|l| l.body == "RUN" && l.mechanism == "exact" && l.epsilon.is_none()));
}

#[test]
fn noised_reports_spend_the_budget_which_persists_and_frees_after_the_window() {
    let s = Shared::default();
    let mut e = open(&s, noised(3.0), T0);
    runner(&mut e, T0);
    let c = catalog(6, "");
    let d = pick(&mut e, &c, T0);
    let mut rng = SplitMix64(9);
    let mut sent = Vec::new();
    for i in 0..5 {
        let body = e.report_body(&c, &d, &mut rng);
        assert!(
            c.find(&body).is_some(),
            "a body is always an offer of the catalog"
        );
        if let Some(entry) = e.log_report(&body, "/r", T0 + i) {
            sent.push(entry.body);
        }
    }
    assert_eq!(sent.len(), 3, "ε = 1 each, 3 per week");
    // A new page load (a new engine on the same storage) sees the same budget and ledger.
    let mut again = open(&s, noised(3.0), T0 + DAY);
    let v = again.privacy_view(T0 + DAY);
    assert_eq!(v.spent, Some(3.0));
    assert_eq!(v.remaining, Some(0.0));
    let logged: Vec<String> = v.ledger.iter().rev().map(|l| l.body.clone()).collect();
    assert_eq!(logged, sent);
    assert!(v
        .ledger
        .iter()
        .all(|l| l.mechanism == "noised" && l.epsilon == Some(1.0)));
    assert!(again.log_report("RUN", "/r", T0 + DAY).is_none());
    assert_eq!(v.frees_at, Some(T0 + 7 * DAY));
    // A week after the first report, its ε is free again.
    assert!(again.log_report("RUN", "/r", T0 + 7 * DAY).is_some());
    assert!(again.log_report("RUN", "/r", T0 + 7 * DAY + 1).is_some());
    assert!(again.log_report("RUN", "/r", T0 + 7 * DAY + 2).is_some());
    assert!(again.log_report("RUN", "/r", T0 + 7 * DAY + 3).is_none());
}

#[test]
fn noised_bodies_follow_randomized_response_over_the_whole_catalog() {
    let s = Shared::default();
    let e = {
        let mut e = open(&s, noised(8.0), T0);
        runner(&mut e, T0);
        e
    };
    let mut e = e;
    let c = catalog(5, "");
    let d = pick(&mut e, &c, T0);
    let mut rng = SplitMix64(5);
    let n = 20_000;
    let truth = (0..n)
        .filter(|_| e.report_body(&c, &d, &mut rng) == "RUN")
        .count() as f64
        / n as f64;
    let p = 1f64.exp() / (1f64.exp() + 4.0);
    assert!((truth - p).abs() < 0.015, "{truth} vs {p}");
}

#[test]
fn small_catalogs_are_never_personalized() {
    let s = Shared::default();
    let mut e = open(&s, PrivacySettings::default(), T0);
    runner(&mut e, T0);
    let small = catalog(4, "");
    let d = pick(&mut e, &small, T0);
    assert_ne!(d.reason, Reason::Personal);
    assert_ne!(
        d.offer_id, "RUN",
        "the popular offers win without the profile"
    );
    assert_eq!(e.status().guard, Some(Guard::CatalogTooSmall));
    assert_eq!(
        e.privacy_view(T0).guard,
        Some(Code::PrivacyCatalogTooSmall.as_str())
    );
    let d = pick(&mut e, &catalog(5, ""), T0);
    assert_eq!((d.offer_id.as_str(), d.reason), ("RUN", Reason::Personal));
    assert_eq!(e.status().guard, None);
}

#[test]
fn at_most_n_catalogs_are_personalized_per_window_across_page_loads() {
    let s = Shared::default();
    let p = PrivacySettings {
        catalogs_per_window: 2,
        ..PrivacySettings::default()
    };
    let mut e = open(&s, p.clone(), T0);
    runner(&mut e, T0);
    let (a, b, c) = (catalog(5, "a"), catalog(5, "b"), catalog(5, "c"));
    assert_eq!(pick(&mut e, &a, T0).reason, Reason::Personal);
    assert_eq!(pick(&mut e, &b, T0).reason, Reason::Personal);
    let third = pick(&mut e, &c, T0);
    assert_ne!(third.reason, Reason::Personal);
    assert_eq!(e.status().guard, Some(Guard::TooManyCatalogs));
    assert_eq!(
        pick(&mut e, &a, T0).reason,
        Reason::Personal,
        "seen ones stay"
    );
    let mut again = open(&s, p.clone(), T0 + DAY);
    assert_ne!(pick(&mut again, &c, T0 + DAY).reason, Reason::Personal);
    assert_eq!(again.privacy_view(T0 + DAY).catalogs_this_week, 2);
    assert_eq!(
        pick(&mut again, &c, T0 + 7 * DAY).reason,
        Reason::Personal,
        "the window moved on"
    );
}

#[test]
fn private_choice_spends_per_slot_and_falls_back_when_the_budget_is_spent() {
    let s = Shared::default();
    let p = PrivacySettings {
        mode: ReportMode::PrivateChoice,
        epsilon_per_report: 2.0,
        budget_per_window: 4.0,
        ..PrivacySettings::default()
    };
    let mut e = open(&s, p, T0);
    runner(&mut e, T0);
    let c = catalog(6, "");
    let first = pick(&mut e, &c, T0);
    assert_eq!(first.reason, Reason::Private);
    assert_eq!(pick(&mut e, &c, T0 + 1).reason, Reason::Private);
    let third = pick(&mut e, &c, T0 + 2);
    assert_eq!(third.reason, Reason::Popular);
    assert_eq!(e.status().guard, Some(Guard::BudgetSpent));
    // The report repeats the shown offer; its ε was spent by the choice.
    let entry = e.log_report(&first.offer_id, "/r", T0 + 3).unwrap();
    assert_eq!(entry.body, first.offer_id);
    assert_eq!(e.privacy_view(T0 + 3).spent, Some(4.0));
}

#[test]
fn private_choice_prefers_the_shoppers_offer_only_as_much_as_epsilon_allows() {
    // Six offers, RUN scores highest: with ε = 2 its probability is e^1/(e^1 + 5·e^u) for
    // the others' normalized scores u; over many draws it must be shown more often than any
    // other offer but far from always.
    let s = Shared::default();
    let p = PrivacySettings {
        mode: ReportMode::PrivateChoice,
        epsilon_per_report: 2.0,
        budget_per_window: 1000.0,
        ..PrivacySettings::default()
    };
    let mut e = open(&s, p, T0);
    runner(&mut e, T0);
    let c = catalog(6, "");
    let mut rng = SplitMix64(3);
    let n = 400;
    let runs = (0..n)
        .filter(|&i| e.choose(&c, &Request::new(1, T0 + i), &mut rng, false)[0].offer_id == "RUN")
        .count();
    let share = runs as f64 / n as f64;
    // Others all score 0.05 (popularity 0.5 · 0.1), RUN more: normalized 1 vs 0.
    let expect = 1f64.exp() / (1f64.exp() + 5.0);
    assert!((share - expect).abs() < 0.07, "{share} vs {expect}");
}

#[test]
fn two_tabs_reporting_keep_every_report_in_the_ledger_and_the_budget() {
    let s = Shared::default();
    let mut a = open(&s, noised(8.0), T0);
    let mut b = open(&s, noised(8.0), T0);
    a.set_writer(1);
    b.set_writer(2);
    for i in 0..3 {
        assert!(a.log_report(&format!("A{i}"), "/r", T0 + 2 * i).is_some());
        assert!(b
            .log_report(&format!("B{i}"), "/r", T0 + 2 * i + 1)
            .is_some());
    }
    let v = open(&s, noised(8.0), T0 + 10).privacy_view(T0 + 10);
    let mut bodies: Vec<String> = v.ledger.iter().map(|l| l.body.clone()).collect();
    bodies.sort();
    assert_eq!(bodies, ["A0", "A1", "A2", "B0", "B1", "B2"]);
    assert_eq!(v.spent, Some(6.0));
}

#[test]
fn a_shopper_added_namespace_is_forgotten_at_once_and_never_recorded_again() {
    let s = Shared::default();
    let mut e = open(&s, PrivacySettings::default(), T0);
    e.record(
        &Event::new(EventKind::View, ["brand:acme", "category:running"]),
        T0,
    )
    .unwrap();
    assert!(e.add_sensitive("Brand", T0).unwrap());
    assert!(!e.profile().interests.contains_key("brand:acme"));
    e.record(&Event::new(EventKind::View, ["brand:zeta"]), T0 + 1)
        .ok();
    let stored = s.get(&store::profile_key("shop")).unwrap().unwrap();
    assert!(!stored.contains("brand:"), "{stored}");
    // It holds on the next page load, and in an import.
    let mut again = open(&s, PrivacySettings::default(), T0 + 2);
    assert_eq!(again.privacy_view(T0 + 2).sensitive_shopper, ["brand"]);
    let mut elsewhere =
        Engine::in_memory("x", Settings::default(), Scoring::default(), T0).unwrap();
    elsewhere
        .record(
            &Event::new(EventKind::View, ["brand:acme", "category:running"]),
            T0,
        )
        .unwrap();
    again.import(&elsewhere.export(T0), T0 + 3).unwrap();
    assert!(!again.profile().interests.contains_key("brand:acme"));
    assert!(again.profile().interests.contains_key("category:running"));
    assert!(matches!(again.add_sensitive("not ok!", T0), Err(e) if e.code == Code::OptionsInvalid));
    assert!(again.remove_sensitive("brand", T0 + 4));
    again
        .record(&Event::new(EventKind::View, ["brand:zeta"]), T0 + 5)
        .unwrap();
    assert!(again.profile().interests.contains_key("brand:zeta"));
}

#[test]
fn clear_removes_the_ledger_and_the_budget_with_the_profile() {
    let s = Shared::default();
    let mut e = open(&s, noised(2.0), T0);
    runner(&mut e, T0);
    e.log_report("RUN", "/r", T0);
    assert!(s.get(&store::privacy_key("shop")).unwrap().is_some());
    e.clear().unwrap();
    assert!(s.0.borrow().keys().unwrap().is_empty());
    let v = e.privacy_view(T0);
    assert!(v.ledger.is_empty());
    assert_eq!(v.spent, Some(0.0));
}

#[test]
fn an_unreadable_privacy_record_is_set_aside_and_the_budget_starts_over() {
    let s = Shared::default();
    s.clone()
        .set(&store::privacy_key("shop"), "{not json")
        .unwrap();
    let e = open(&s, noised(2.0), T0);
    assert_eq!(e.status().quarantined.len(), 1);
    let q = &e.status().quarantined[0];
    assert_eq!(s.get(q).unwrap().as_deref(), Some("{not json"));
    assert_eq!(
        e.status().reason.as_ref().map(|r| r.code),
        Some(Code::ProfileInvalid)
    );
}

#[test]
fn privacy_options_out_of_range_are_refused() {
    let s = Shared::default();
    let mut e = open(&s, PrivacySettings::default(), T0);
    for bad in [
        PrivacySettings {
            epsilon_per_report: 0.0,
            ..noised(8.0)
        },
        PrivacySettings {
            budget_per_window: 0.5,
            ..noised(8.0)
        },
        PrivacySettings {
            min_offers: 0,
            ..PrivacySettings::default()
        },
        PrivacySettings {
            catalogs_per_window: 0,
            ..PrivacySettings::default()
        },
    ] {
        assert_eq!(
            e.set_privacy(bad, T0).unwrap_err().code,
            Code::OptionsInvalid
        );
    }
}

#[test]
fn a_search_for_a_health_religion_sexuality_political_or_money_word_leaves_no_trace() {
    for (word, phrase) in [
        ("diabetic", "sugar free snacks diabetic"),
        ("bible", "leather bible cover"),
        ("lesbian", "lesbian romance novels"),
        ("republican", "republican party hat"),
        ("payday", "payday loan calculator"),
        ("secretword", "where to buy secretword online"),
        // Past the words a search keeps as tags, in a plural, behind an apostrophe.
        (
            "diabetic",
            "organic gluten free bread for my son who is diabetic",
        ),
        ("diabetics", "sugar free snacks for diabetics"),
        ("quran", "wooden Qur'an stand"),
        ("churches", "candles for churches"),
        ("secretwords", "two secretwords"),
    ] {
        let s = Shared::default();
        let mut e = open(&s, PrivacySettings::default(), T0);
        e.add_sensitive("secretword", T0).unwrap();
        let search = Event::new(EventKind::Search, ["category:books"]).with_terms(phrase);
        e.record(&search, T0).unwrap();
        let tags: Vec<&String> = e.profile().interests.keys().collect();
        assert!(
            tags.iter().all(|t| !t.starts_with("search:")),
            "{word}: {tags:?}"
        );
        // A catalog that asks about the word gets the same answer as for a shopper who never
        // searched it.
        let probe = Catalog::from_json(&format!(r#"{{"version":1,"fallback":"A","offers":[{{"id":"P","tags":{{"search:{word}":1}},"requires":["search:{word}"]}},{{"id":"A"}},{{"id":"B"}},{{"id":"C"}},{{"id":"D"}}]}}"#)).unwrap();
        let fresh = Shared::default();
        let mut other = open(&fresh, PrivacySettings::default(), T0);
        other
            .record(&Event::new(EventKind::View, ["category:books"]), T0)
            .unwrap();
        let req = Request::new(1, T0 + DAY);
        let a = e.choose(&probe, &req, &mut SplitMix64(1), true);
        let b = other.choose(&probe, &req, &mut SplitMix64(1), true);
        assert_eq!(a[0].offer_id, b[0].offer_id, "{word}");
    }
}

#[test]
fn a_product_whose_id_names_a_sensitive_topic_is_not_recorded() {
    let s = Shared::default();
    let mut e = open(&s, PrivacySettings::default(), T0);
    let view = Event::new(EventKind::View, ["category:supplies"]).with_item("sku-Insulin-pen");
    e.record(&view, T0).unwrap();
    assert!(
        e.profile().items.is_empty(),
        "{:?}",
        e.profile().items.keys()
    );
    assert!(e.profile().interests.contains_key("category:supplies"));
    let plain = Event::new(EventKind::View, ["category:supplies"]).with_item("sku-pen");
    e.record(&plain, T0).unwrap();
    assert_eq!(e.profile().items.keys().collect::<Vec<_>>(), ["sku-pen"]);
}

#[test]
fn the_sensitive_word_list_is_sorted_and_lowercase_as_its_lookup_needs() {
    let words = pocketrank::profile::SENSITIVE_WORDS;
    assert!(words.windows(2).all(|w| w[0] < w[1]), "sorted, no repeats");
    assert!(words.iter().all(|w| *w == w.to_lowercase()));
}

#[test]
fn a_search_with_a_sensitive_word_records_nothing_a_catalog_can_probe() {
    let s = Shared::default();
    let mut e = open(&s, PrivacySettings::default(), T0);
    let search = Event::new(EventKind::Search, Vec::<String>::new())
        .with_terms("gluten free for my diabetic son");
    assert!(!e.record(&search, T0).unwrap(), "nothing recorded");
    assert!(
        e.profile().interests.is_empty(),
        "{:?}",
        e.profile().interests.keys()
    );
    // A tag naming a sensitive topic outside the sensitive namespaces is not recorded either.
    e.record(
        &Event::new(EventKind::View, ["category:pregnancy", "brand:acme"]),
        T0,
    )
    .unwrap();
    let kept: Vec<&String> = e.profile().interests.keys().collect();
    assert_eq!(kept, ["brand:acme"]);
    // The probe: one offer requires the word; a shopper who searched it and one who did not
    // get the same answers.
    let probe = Catalog::from_json(r#"{"version":1,"fallback":"A","offers":[{"id":"P","tags":{"search:diabetic":1},"requires":["search:diabetic"]},{"id":"A"},{"id":"B"},{"id":"C"},{"id":"D"}]}"#).unwrap();
    let fresh = Shared::default();
    let mut other = open(&fresh, PrivacySettings::default(), T0);
    other
        .record(&Event::new(EventKind::View, ["brand:acme"]), T0)
        .unwrap();
    for n in 0..5 {
        let req = Request::new(1, T0 + n * DAY);
        let a = e.choose(&probe, &req, &mut SplitMix64(n as u64), true);
        let b = other.choose(&probe, &req, &mut SplitMix64(n as u64), true);
        assert_eq!(a[0].offer_id, b[0].offer_id);
        assert_ne!(a[0].offer_id, "P");
    }
}

#[test]
fn exact_reports_spend_bits_per_new_question_and_nothing_for_one_asked_again() {
    let s = Shared::default();
    let mut e = open(&s, PrivacySettings::default(), T0);
    runner(&mut e, T0);
    let c = catalog(15, "");
    let bits = |e: &mut Engine, now| e.privacy_view(now).bits_spent.unwrap();
    let first = e.choose(&c, &Request::new(1, T0), &mut SplitMix64(1), true);
    assert_eq!(first[0].offer_id, "RUN");
    // 15 offers, one slot: log2(16) = 4 bits.
    assert!((bits(&mut e, T0) - 4.0).abs() < 1e-9);
    for n in 1..20 {
        let again = e.choose(
            &c,
            &Request::new(1, T0 + n * 60_000),
            &mut SplitMix64(n as u64),
            true,
        );
        assert_eq!(
            again[0].offer_id, "RUN",
            "the same answer to the same question"
        );
    }
    assert!(
        (bits(&mut e, T0 + DAY / 2) - 4.0).abs() < 1e-9,
        "asked again: free"
    );
    // A tab opened later sees the same remembered answer and the same spend.
    let mut tab = open(&s, PrivacySettings::default(), T0 + 1);
    assert_eq!(
        tab.choose(&c, &Request::new(1, T0 + 2), &mut SplitMix64(9), true)[0].offer_id,
        "RUN"
    );
    assert!((bits(&mut tab, T0 + 2) - 4.0).abs() < 1e-9);
}

#[test]
fn a_question_asked_on_later_days_keeps_its_personal_answer_and_is_refreshed_while_bits_last() {
    // The flow a daily shopper makes: the same pages every day of the week.
    let privacy = PrivacySettings {
        bits_per_window: 10.0,
        catalogs_per_window: 1000,
        ..PrivacySettings::default()
    };
    let s = Shared::default();
    let mut e = open(&s, privacy, T0);
    runner(&mut e, T0);
    let c = catalog(15, "");
    let ask = |e: &mut Engine, page: usize, now: i64| {
        let ctx = [format!("page:{page}")];
        let req = Request {
            context: &ctx,
            count: 1,
            now,
            exclude: &[],
        };
        e.choose(&c, &req, &mut SplitMix64(now as u64), true)
            .remove(0)
    };
    let bits = |e: &mut Engine, now| e.privacy_view(now).bits_spent.unwrap();
    // Day 1: two pages (4 bits each) fit in 10 bits; a third does not.
    for page in 0..2 {
        assert_eq!(ask(&mut e, page, T0).reason, Reason::Personal);
    }
    assert_ne!(ask(&mut e, 2, T0).reason, Reason::Personal);
    assert_eq!(e.status().guard, Some(Guard::BitsSpent));
    // Days 2 to 7: the same two pages keep their personal answers, for free (a fresh answer
    // would cost 4 more bits than the window has left).
    for day in 1..7 {
        for page in 0..2 {
            let d = ask(&mut e, page, T0 + day * DAY);
            assert_eq!(
                (d.offer_id.as_str(), d.reason),
                ("RUN", Reason::Personal),
                "day {day}"
            );
            assert_eq!(e.status().guard, None);
        }
        assert!(
            (bits(&mut e, T0 + day * DAY) - 8.0).abs() < 1e-9,
            "day {day}: nothing spent"
        );
    }

    // With bits left, an answer from an earlier day is asked afresh: today's profile decides.
    let s = Shared::default();
    let mut e = open(&s, PrivacySettings::default(), T0);
    runner(&mut e, T0);
    assert_eq!(ask(&mut e, 0, T0).offer_id, "RUN");
    for _ in 0..8 {
        e.record(
            &Event::new(EventKind::Purchase, ["category:other3"]),
            T0 + DAY / 4,
        )
        .unwrap();
    }
    assert_eq!(
        ask(&mut e, 0, T0 + DAY / 2).offer_id,
        "RUN",
        "the same day: the same answer"
    );
    assert!((bits(&mut e, T0 + DAY / 2) - 4.0).abs() < 1e-9);
    let next_day = ask(&mut e, 0, T0 + DAY + 1);
    assert_eq!(
        (next_day.offer_id.as_str(), next_day.reason),
        ("O3", Reason::Personal)
    );
    assert!(
        (bits(&mut e, T0 + DAY + 1) - 8.0).abs() < 1e-9,
        "the fresh answer cost its bits"
    );
    // A tab opened afterwards sees the fresh answer, not the first.
    let mut tab = open(&s, PrivacySettings::default(), T0 + DAY + 2);
    assert_eq!(ask(&mut tab, 0, T0 + DAY + 3).offer_id, "O3");
}

#[test]
fn past_the_weekly_bits_two_opposite_shoppers_get_the_same_answers_until_it_frees() {
    let privacy = PrivacySettings {
        bits_per_window: 10.0,
        catalogs_per_window: 1000,
        ..PrivacySettings::default()
    };
    let (sa, sb) = (Shared::default(), Shared::default());
    let mut a = open(&sa, privacy.clone(), T0);
    let mut b = open(&sb, privacy.clone(), T0);
    runner(&mut a, T0);
    b.record(&Event::new(EventKind::Purchase, ["category:other3"]), T0)
        .unwrap();
    let c = catalog(15, "");
    let mut differed = 0;
    for n in 0..20i64 {
        // A new question each time: a different page context.
        let ctx = [format!("page:{n}")];
        let req = Request {
            context: &ctx,
            count: 1,
            now: T0 + n * 60_000,
            exclude: &[],
        };
        let (x, y) = (
            a.choose(&c, &req, &mut SplitMix64(7), true),
            b.choose(&c, &req, &mut SplitMix64(7), true),
        );
        if n >= 2 {
            // 4 bits each: two questions fit in 10 bits, the third does not.
            assert_eq!(x[0].offer_id, y[0].offer_id, "question {n}");
            assert_eq!(a.status().guard, Some(Guard::BitsSpent));
            assert!(x[0].reason != Reason::Personal);
        } else if x[0].offer_id != y[0].offer_id {
            differed += 1;
        }
    }
    assert_eq!(differed, 2, "personal while the bits last");
    // Setting the clock back frees nothing.
    let back = Request::new(1, T0 - 3 * DAY);
    a.choose(&c, &back, &mut SplitMix64(1), true);
    assert_eq!(a.status().guard, Some(Guard::BitsSpent));
    // A week later the bits are free again.
    let later = Request::new(1, T0 + 8 * DAY);
    assert_eq!(
        a.choose(&c, &later, &mut SplitMix64(1), true)[0].reason,
        Reason::Personal
    );
}

#[test]
fn once_the_matching_offers_are_capped_the_rest_are_not_called_personal() {
    let s = Shared::default();
    let mut e = open(&s, PrivacySettings::default(), T0);
    runner(&mut e, T0);
    let c = Catalog::from_json(r#"{"version":1,"fallback":"G","offers":[{"id":"RUN","tags":{"category:running":1},"caps":{"total":1}},{"id":"A","popularity":0.3},{"id":"B","popularity":0.2},{"id":"C"},{"id":"G"}]}"#).unwrap();
    let first = e.choose(&c, &Request::new(1, T0), &mut SplitMix64(1), true);
    assert_eq!(
        (first[0].offer_id.as_str(), first[0].reason),
        ("RUN", Reason::Personal)
    );
    assert!(e
        .explain(&c, &first[0])
        .starts_with("Picked for you because you bought items in this category"));
    // The next day it is a new question; RUN is capped, and what is left owes nothing to
    // the profile.
    let next = e.choose(&c, &Request::new(1, T0 + DAY), &mut SplitMix64(1), true);
    assert_eq!(next[0].offer_id, "A");
    assert_eq!(next[0].reason, Reason::Popular);
    assert!(
        e.explain(&c, &next[0])
            .contains("not based on your activity"),
        "{}",
        e.explain(&c, &next[0])
    );
}

/// A store of `quota` UTF-16 units shared by tabs.
fn with_quota(quota: usize) -> Shared {
    Shared(std::rc::Rc::new(std::cell::RefCell::new(
        store::MemoryStore::with_quota(quota),
    )))
}

/// Fills what is left of a store of `quota` units, as another script of the origin could.
fn fill(s: &Shared, quota: usize) {
    let used: usize = s
        .keys()
        .unwrap()
        .iter()
        .map(|k| k.encode_utf16().count() + s.get(k).unwrap().unwrap().encode_utf16().count())
        .sum();
    s.clone()
        .set("filler", &"x".repeat(quota - used - "filler".len()))
        .unwrap();
}

#[test]
fn a_personal_answer_whose_spend_cannot_be_stored_is_not_given() {
    let quota = 40_000;
    let s = with_quota(quota);
    let mut e = open(&s, PrivacySettings::default(), T0);
    runner(&mut e, T0);
    fill(&s, quota);
    let c = catalog(15, "");
    let d = e.choose(&c, &Request::new(1, T0), &mut SplitMix64(1), false);
    assert_ne!(d[0].reason, Reason::Personal, "{:?}", d[0]);
    assert_eq!(e.status().guard, Some(Guard::Unrecorded));
    assert_eq!(Guard::Unrecorded.code().as_str(), "privacy.unrecorded");
    // Asked again, still nothing personal: the answer was not remembered either.
    let d = e.choose(&c, &Request::new(1, T0 + 1), &mut SplitMix64(2), false);
    assert_ne!(d[0].reason, Reason::Personal);
    // Room again: the next page sees every bit it may spend, and the answer is personal.
    s.clone().remove("filler").unwrap();
    let mut next = open(&s, PrivacySettings::default(), T0 + 2);
    let d = next.choose(&c, &Request::new(1, T0 + 2), &mut SplitMix64(3), false);
    assert_eq!(
        (d[0].offer_id.as_str(), d[0].reason),
        ("RUN", Reason::Personal)
    );
    let stored = s.get(&store::privacy_key("shop")).unwrap().unwrap();
    let stored = pocketrank::safeguard::SafeguardState::decode(&stored).unwrap();
    assert_eq!(
        stored.answers.len(),
        1,
        "the personal answer and its spend are stored"
    );
}

#[test]
fn a_noised_report_whose_spend_cannot_be_stored_is_not_sent() {
    let quota = 40_000;
    let s = with_quota(quota);
    let mut e = open(&s, noised(8.0), T0);
    runner(&mut e, T0);
    assert!(e.log_report("RUN", "/r", T0).is_some());
    fill(&s, quota);
    assert!(e.log_report("RUN", "/r", T0 + 1).is_none());
    assert_eq!(
        e.privacy_view(T0 + 1).ledger.len(),
        1,
        "the ledger lists what was sent"
    );
}

#[test]
fn a_privacy_record_of_a_newer_version_keeps_every_decision_profile_free() {
    let s = Shared::default();
    s.clone()
        .set(&store::privacy_key("shop"), r#"{"v":99}"#)
        .unwrap();
    let mut e = open(&s, PrivacySettings::default(), T0);
    runner(&mut e, T0);
    let d = e.choose(
        &catalog(15, ""),
        &Request::new(1, T0),
        &mut SplitMix64(1),
        true,
    );
    assert_ne!(d[0].reason, Reason::Personal);
    assert_eq!(e.status().guard, Some(Guard::Unrecorded));
    assert_eq!(
        s.get(&store::privacy_key("shop")).unwrap().as_deref(),
        Some(r#"{"v":99}"#),
        "left untouched"
    );
}

#[test]
fn what_the_shopper_forgets_is_not_answered_again_from_memory_in_any_tab() {
    let s = Shared::default();
    let mut e = open(&s, PrivacySettings::default(), T0);
    let mut tab = open(&s, PrivacySettings::default(), T0);
    runner(&mut e, T0);
    let c = catalog(15, "");
    let first = e.choose(&c, &Request::new(1, T0), &mut SplitMix64(1), true);
    assert_eq!(
        (first[0].offer_id.as_str(), first[0].reason),
        ("RUN", Reason::Personal)
    );
    // The other tab gets the remembered answer.
    let other = tab.choose(&c, &Request::new(1, T0 + 1), &mut SplitMix64(2), true);
    assert_eq!(other[0].offer_id, "RUN");
    assert!(e.forget("category:running", T0 + 2));
    for (engine, t) in [(&mut e, T0 + 3), (&mut tab, T0 + 4)] {
        let d = engine.choose(&c, &Request::new(1, t), &mut SplitMix64(3), true);
        assert!(
            d[0].offer_id != "RUN" && d[0].reason != Reason::Personal,
            "{:?}",
            d[0]
        );
    }
    // The same for a product forgotten, and for a namespace made sensitive.
    for forget in [
        |e: &mut Engine, t| assert!(e.forget_item("sku-1", t)),
        |e: &mut Engine, t| assert!(e.add_sensitive("category", t).unwrap()),
    ] {
        let s = Shared::default();
        let mut e = open(&s, PrivacySettings::default(), T0);
        e.record(
            &Event::new(EventKind::View, ["category:running"]).with_item("sku-1"),
            T0,
        )
        .unwrap();
        let c = Catalog::from_json(
            r#"{"version":1,"offers":[{"id":"RUN","tags":{"category:running":1},"items":["sku-1"]},{"id":"A"},{"id":"B"},{"id":"C"},{"id":"D"}]}"#,
        )
        .unwrap();
        assert_eq!(
            e.choose(&c, &Request::new(1, T0), &mut SplitMix64(1), true)[0].offer_id,
            "RUN"
        );
        forget(&mut e, T0 + 1);
        assert!(
            e.privacy_record().answers.is_empty(),
            "no answer from before"
        );
        let stored = s.get(&store::privacy_key("shop")).unwrap().unwrap();
        let stored = pocketrank::safeguard::SafeguardState::decode(&stored).unwrap();
        assert!(stored.answers.is_empty() && stored.forgot_t > T0);
    }
}

#[test]
fn tabs_that_spent_the_same_remaining_bits_at_once_report_only_what_the_bound_holds() {
    // Two tabs of one browser, each answering before the other's write reaches it: a store
    // each, copied from one origin, and the privacy records exchanged afterwards.
    let bound = PrivacySettings {
        bits_per_window: 6.0,
        ..PrivacySettings::default()
    };
    let origin = Shared::default();
    let mut first = open(&origin, bound.clone(), T0);
    runner(&mut first, T0);
    drop(first);
    let copy = || {
        Shared(std::rc::Rc::new(std::cell::RefCell::new(
            origin.0.borrow().clone(),
        )))
    };
    let (sa, sb) = (copy(), copy());
    let mut a = open(&sa, bound.clone(), T0 + 1);
    let mut b = open(&sb, bound.clone(), T0 + 1);
    // 15 offers, one slot: 4 bits each; each tab sees 0 of 6 spent.
    let da = a.choose(
        &catalog(15, "a"),
        &Request::new(1, T0 + 2),
        &mut SplitMix64(1),
        true,
    );
    let db = b.choose(
        &catalog(15, "b"),
        &Request::new(1, T0 + 2),
        &mut SplitMix64(1),
        true,
    );
    assert_eq!(da[0].reason, Reason::Personal);
    assert_eq!(db[0].reason, Reason::Personal);
    assert!(a.report_needs_settle(&da[0].offer_id) && b.report_needs_settle(&db[0].offer_id));
    // Each learns the other's record, as a storage event brings it.
    let key = store::privacy_key("shop");
    let (ra, rb) = (
        sa.get(&key).unwrap().unwrap(),
        sb.get(&key).unwrap().unwrap(),
    );
    sa.clone().set(&key, &rb).unwrap();
    sb.clone().set(&key, &ra).unwrap();
    let sent_a = a.log_report(&da[0].offer_id, "/r", T0 + 3).is_some();
    let sent_b = b.log_report(&db[0].offer_id, "/r", T0 + 3).is_some();
    assert!(
        sent_a != sent_b,
        "one of the two answers fits the 6 bits (a: {sent_a}, b: {sent_b})"
    );
    // A profile-free decision still reports.
    let c = Catalog::from_json(
        r#"{"version":1,"offers":[{"id":"RUN","tags":{"category:running":1},"popularity":1},{"id":"X"}]}"#,
    )
    .unwrap();
    let free = a.choose(&c, &Request::new(1, T0 + 4), &mut SplitMix64(1), true);
    assert_eq!(
        free[0].offer_id, da[0].offer_id,
        "the same offer, chosen without the profile"
    );
    assert!(!a.report_needs_settle(&free[0].offer_id));
    assert!(a.log_report(&free[0].offer_id, "/r", T0 + 4).is_some());
}

#[test]
fn a_privacy_record_of_0_1_0_with_600_spends_is_read_and_trimmed() {
    // Written by the code of 0.1.0 (commit c299af9; tests/fixtures/README.md): 600 noised
    // reports of ε 0.01 a minute apart. 0.1.0 read up to 100,000 spends; this version keeps
    // 512 and must read the old record, not set it aside.
    let old = include_str!("fixtures/privacy-v1-600-spends.json");
    let s = Shared::default();
    s.clone().set(&store::privacy_key("shop"), old).unwrap();
    let privacy = PrivacySettings {
        mode: ReportMode::Noised,
        epsilon_per_report: 0.01,
        budget_per_window: 100.0,
        ..PrivacySettings::default()
    };
    let now = T0 + 600 * 60_000;
    let mut e = open(&s, privacy.clone(), now);
    assert!(e.status().quarantined.is_empty(), "{:?}", e.status());
    assert!(e.status().reason.is_none(), "{:?}", e.status());
    let v = e.privacy_view(now);
    assert_eq!(v.ledger.len(), 200);
    // Merged conservatively: nothing spent is forgotten.
    assert!((v.spent.unwrap() - 6.0).abs() < 1e-9, "{:?}", v.spent);
    assert!(e.log_report("O1", "/offers/report", now).is_some());
    let stored = pocketrank::safeguard::SafeguardState::decode(
        &s.get(&store::privacy_key("shop")).unwrap().unwrap(),
    )
    .unwrap();
    assert!(stored.spent.spent.len() <= pocketrank::safeguard::MAX_SPENDS);
    let again = open(&s, privacy.clone(), now + 1);
    assert!(again.status().quarantined.is_empty());
    assert!((again.privacy_record().spent.spent_at(now + 1, &privacy) - 6.01).abs() < 1e-9);
}

#[test]
fn a_privacy_record_with_more_catalogs_than_kept_is_read_and_trimmed() {
    // The catalogs of 0.1.0's stored form (`{"h":…,"t":…}`), more than this version keeps.
    let n = pocketrank::safeguard::MAX_CATALOGS + 50;
    let catalogs: Vec<String> = (0..n)
        .map(|i| format!(r#"{{"h":{i},"t":{}}}"#, T0 + i as i64))
        .collect();
    let old = format!(r#"{{"v":1,"catalogs":[{}]}}"#, catalogs.join(","));
    let s = Shared::default();
    s.clone().set(&store::privacy_key("shop"), &old).unwrap();
    let now = T0 + n as i64;
    let mut e = open(&s, PrivacySettings::default(), now);
    assert!(e.status().quarantined.is_empty(), "{:?}", e.status());
    // The latest are kept, and the guard still counts the window as full.
    assert_eq!(
        e.catalogs_this_week(now),
        pocketrank::safeguard::MAX_CATALOGS
    );
    assert!(e
        .privacy_record()
        .catalogs
        .iter()
        .any(|c| c.h == n as u64 - 1));
    runner(&mut e, now);
    let d = pick(&mut e, &catalog(6, "new"), now);
    assert_eq!(e.status().guard, Some(Guard::TooManyCatalogs), "{d:?}");
}

#[test]
fn a_report_sent_with_the_clock_set_back_stays_in_a_full_ledger() {
    let s = Shared::default();
    let mut e = open(&s, PrivacySettings::default(), T0);
    for i in 0..pocketrank::safeguard::MAX_LEDGER as i64 {
        assert!(e.log_report("RUN", "/r", T0 + i).is_some());
    }
    // The device clock goes back a month; the report is sent all the same.
    let back = T0 - 30 * DAY;
    assert!(e.log_report("BACK", "/r", back).is_some());
    let v = e.privacy_view(back);
    assert_eq!(v.ledger.len(), pocketrank::safeguard::MAX_LEDGER);
    assert!(
        v.ledger.iter().any(|l| l.body == "BACK"),
        "the report just sent is listed"
    );
    let mut again = open(&s, PrivacySettings::default(), back + 1);
    assert!(again
        .privacy_view(back + 1)
        .ledger
        .iter()
        .any(|l| l.body == "BACK"));
}

#[test]
fn choosing_more_offers_than_an_answer_keeps_writes_a_record_that_reads_back() {
    let s = Shared::default();
    let privacy = PrivacySettings {
        bits_per_window: f64::INFINITY,
        ..PrivacySettings::default()
    };
    let mut e = open(&s, privacy.clone(), T0);
    runner(&mut e, T0);
    let c = catalog(100, "");
    let count = pocketrank::safeguard::MAX_ANSWER_SLOTS + 16;
    let first = e.choose(&c, &Request::new(count, T0), &mut SplitMix64(1), false);
    assert_eq!(first.len(), count);
    assert!(first.iter().any(|d| d.reason == Reason::Personal));
    let again = open(&s, privacy, T0 + 1);
    assert!(
        again.status().quarantined.is_empty(),
        "{:?}",
        again.status()
    );
    assert!(again.status().reason.is_none(), "{:?}", again.status());
}

//! The engine over a store: what survives, what is set aside, what the shopper controls.
#![cfg(not(target_arch = "wasm32"))]

use pocketrank::profile::{Event, EventKind, Settings};
use pocketrank::rank::{Request, Scoring, SplitMix64};
use pocketrank::store::{self, MemoryStore, ProfileStore};
use pocketrank::{Catalog, Code, Engine, Error, StorageMode};
mod common;
use common::Shared;
use std::cell::RefCell;
use std::rc::Rc;

const T0: i64 = 1_795_910_400_000;

/// A store that throws on every access, like localStorage in a sandboxed iframe.
struct Broken;
impl ProfileStore for Broken {
    fn get(&self, _: &str) -> pocketrank::Result<Option<String>> {
        Err(Error::new(Code::StorageUnavailable, "denied"))
    }
    fn set(&mut self, _: &str, _: &str) -> pocketrank::Result<()> {
        Err(Error::new(Code::StorageUnavailable, "denied"))
    }
    fn remove(&mut self, _: &str) -> pocketrank::Result<()> {
        Err(Error::new(Code::StorageUnavailable, "denied"))
    }
    fn keys(&self) -> pocketrank::Result<Vec<String>> {
        Err(Error::new(Code::StorageUnavailable, "denied"))
    }
}

fn open(store: &Shared, now: i64) -> Engine {
    Engine::open(
        Box::new(store.clone()),
        "test",
        Settings::default(),
        Scoring {
            exploration: 0.0,
            ..Scoring::default()
        },
        now,
    )
    .unwrap()
}

fn view(tag: &str) -> Event {
    Event::new(EventKind::View, [tag])
}

/// Five offers: the privacy guard personalizes no catalog of fewer (`min_offers`).
fn catalog() -> Catalog {
    Catalog::from_json(r#"{"version":1,"fallback":"G","offers":[{"id":"RUN","tags":{"running":1}},{"id":"BAKE","tags":{"baking":1}},{"id":"G"},{"id":"KNIT","tags":{"knitting":1}},{"id":"SAIL","tags":{"sailing":1}}]}"#).unwrap()
}

#[test]
fn the_profile_survives_reopening() {
    let s = Shared::default();
    let mut e = open(&s, T0);
    e.record(&view("running"), T0).unwrap();
    let again = open(&s, T0 + 1);
    assert_eq!(again.profile().interests["running"].counts[0], 1);
    assert_eq!(again.status().storage, StorageMode::Local);
}

#[test]
fn an_unreadable_value_is_quarantined_not_overwritten() {
    let s = Shared::default();
    s.0.borrow_mut()
        .set("pocketrank:test:profile", "{\"v\":1,\"i\":[[\"truncated")
        .unwrap();
    let mut e = open(&s, T0);
    let st = e.status().clone();
    assert_eq!(st.reason.unwrap().code, Code::ProfileInvalid);
    assert_eq!(st.quarantined, [format!("pocketrank:test:quarantine:{T0}")]);
    assert_eq!(
        s.0.borrow().get(&st.quarantined[0]).unwrap().as_deref(),
        Some("{\"v\":1,\"i\":[[\"truncated")
    );
    e.record(&view("running"), T0).unwrap();
    assert!(e.profile().interests.contains_key("running"));
    assert_eq!(
        s.0.borrow().get(&st.quarantined[0]).unwrap().as_deref(),
        Some("{\"v\":1,\"i\":[[\"truncated"),
        "still there after a write"
    );
}

#[test]
fn a_newer_schema_is_left_untouched_and_the_engine_runs_in_memory() {
    let s = Shared::default();
    let newer = r#"{"v":9,"future":true}"#;
    s.0.borrow_mut()
        .set("pocketrank:test:profile", newer)
        .unwrap();
    let mut e = open(&s, T0);
    assert_eq!(e.status().storage, StorageMode::Memory);
    assert!(e.status().newer_version_stored);
    assert_eq!(
        e.status().reason.as_ref().unwrap().code,
        Code::ProfileNewerVersion
    );
    e.record(&view("running"), T0).unwrap();
    assert_eq!(
        s.0.borrow()
            .get("pocketrank:test:profile")
            .unwrap()
            .as_deref(),
        Some(newer)
    );
    assert_eq!(
        s.0.borrow().keys().unwrap().len(),
        1,
        "nothing quarantined or added"
    );
}

#[test]
fn storage_that_throws_leaves_a_working_engine_in_memory() {
    let mut e = Engine::open(
        Box::new(Broken),
        "test",
        Settings::default(),
        Scoring::default(),
        T0,
    )
    .unwrap();
    assert_eq!(e.status().storage, StorageMode::Memory);
    assert_eq!(
        e.status().reason.as_ref().unwrap().code,
        Code::StorageUnavailable
    );
    assert!(e.record(&view("baking"), T0).unwrap());
    let d = e.choose(&catalog(), &Request::new(1, T0), &mut SplitMix64(1), true);
    assert_eq!(d[0].offer_id, "BAKE");
}

#[test]
fn a_full_quota_evicts_the_lightest_entries_and_keeps_recording() {
    let store = MemoryStore::with_quota(3_000);
    let mut e = Engine::open(
        Box::new(store),
        "test",
        Settings::default(),
        Scoring::default(),
        T0,
    )
    .unwrap();
    e.record(&Event::new(EventKind::Purchase, ["favourite"]), T0)
        .unwrap();
    for i in 0..200 {
        assert!(e
            .record(
                &view(&format!("interest-{i:03}-{}", "x".repeat(20))),
                T0 + i
            )
            .unwrap());
    }
    assert_eq!(e.status().storage, StorageMode::Local);
    assert!(e.status().stored_bytes <= 3_000);
    assert!(
        e.profile().interests.contains_key("favourite"),
        "the heaviest interest survives"
    );
}

#[test]
fn two_tabs_recording_in_turn_lose_no_event() {
    let s = Shared::default();
    let mut a = open(&s, T0);
    let mut b = open(&s, T0);
    for i in 0..20 {
        a.record(&view("from-a"), T0 + 2 * i).unwrap();
        b.record(&view("from-b"), T0 + 2 * i + 1).unwrap();
    }
    let c = open(&s, T0 + 100);
    assert_eq!(c.profile().interests["from-a"].counts[0], 20);
    assert_eq!(c.profile().interests["from-b"].counts[0], 20);
}

#[test]
fn clear_removes_every_key_the_library_wrote_and_only_those() {
    let s = Shared::default();
    s.0.borrow_mut()
        .set("pocketrank:test:profile", "garbage")
        .unwrap();
    s.0.borrow_mut().set("site:cart", "keep me").unwrap();
    s.0.borrow_mut()
        .set("pocketrank:other:profile", "{\"v\":1}")
        .unwrap();
    let mut e = open(&s, T0);
    e.record(&view("running"), T0).unwrap();
    e.choose(&catalog(), &Request::new(1, T0), &mut SplitMix64(1), true);
    assert!(e.clear().unwrap() >= 2);
    let keys = s.0.borrow().keys().unwrap();
    assert!(
        !keys.iter().any(|k| k.starts_with(&store::prefix("test"))),
        "{keys:?}"
    );
    assert!(
        keys.contains(&"site:cart".to_string())
            && keys.contains(&"pocketrank:other:profile".to_string())
    );
    assert!(e.profile().is_empty());
}

#[test]
fn pause_stops_learning_and_shows_only_the_fallback_until_resumed() {
    let s = Shared::default();
    let mut e = open(&s, T0);
    e.record(&view("running"), T0).unwrap();
    e.set_paused(true, T0);
    assert!(!e.record(&view("baking"), T0).unwrap());
    assert!(!e.profile().interests.contains_key("baking"));
    assert_eq!(
        e.choose(&catalog(), &Request::new(1, T0), &mut SplitMix64(1), true)[0].offer_id,
        "G"
    );
    assert!(
        open(&s, T0).paused(),
        "the pause persists across page loads"
    );
    e.set_paused(false, T0);
    assert_eq!(
        e.choose(&catalog(), &Request::new(1, T0), &mut SplitMix64(1), true)[0].offer_id,
        "RUN"
    );
}

#[test]
fn export_then_import_gives_the_same_decisions() {
    let s = Shared::default();
    let mut e = open(&s, T0);
    for t in ["running", "running", "baking"] {
        e.record(&view(t), T0).unwrap();
    }
    let exported = e.export(T0);
    let mut other = Engine::in_memory("x", Settings::default(), Scoring::default(), T0).unwrap();
    other.import(&exported, T0).unwrap();
    let c = catalog();
    let a: Vec<_> = e
        .choose(&c, &Request::new(3, T0), &mut SplitMix64(5), false)
        .into_iter()
        .map(|d| d.offer_id)
        .collect();
    let b: Vec<_> = other
        .choose(&c, &Request::new(3, T0), &mut SplitMix64(5), false)
        .into_iter()
        .map(|d| d.offer_id)
        .collect();
    assert_eq!(a, b);
    assert_eq!(
        other.import("{\"v\":1,\"i\":3}", T0).unwrap_err().code,
        Code::ProfileInvalid
    );
    assert_eq!(
        other.export(T0),
        exported,
        "a refused import changes nothing"
    );
}

#[test]
fn forget_removes_one_interest_at_once() {
    let s = Shared::default();
    let mut e = open(&s, T0);
    e.record(
        &Event::new(EventKind::View, ["running", "baking"]).with_item("sku-1"),
        T0,
    )
    .unwrap();
    assert!(e.forget("running", T0));
    assert!(e.forget_item("sku-1", T0));
    let reopened = open(&s, T0);
    assert!(!reopened.profile().interests.contains_key("running"));
    assert!(reopened.profile().interests.contains_key("baking"));
    assert!(reopened.profile().items.is_empty());
}

#[test]
fn dismissing_an_offer_hides_it_and_teaches_against_its_tags() {
    let s = Shared::default();
    let mut e = open(&s, T0);
    e.record(&view("running"), T0).unwrap();
    let c = catalog();
    let d = e.choose(&c, &Request::new(1, T0), &mut SplitMix64(1), true);
    assert_eq!(d[0].offer_id, "RUN");
    e.feedback("RUN", EventKind::Dismiss, T0).unwrap();
    assert!(
        !e.profile().interests.contains_key("running"),
        "a dismissal outweighs one view"
    );
    let next = e.choose(&c, &Request::new(1, T0 + 1), &mut SplitMix64(1), true);
    assert_ne!(next[0].offer_id, "RUN");
    assert_eq!(
        e.view(T0)
            .offers
            .iter()
            .find(|o| o.offer == "RUN")
            .unwrap()
            .dismissed,
        Some(T0)
    );
}

#[test]
fn invalid_options_are_refused_with_a_code() {
    let bad_ns =
        Engine::in_memory("has space", Settings::default(), Scoring::default(), T0).unwrap_err();
    assert_eq!(
        (bad_ns.code, bad_ns.field.as_deref()),
        (Code::OptionsInvalid, Some("namespace"))
    );
    let bad_half_life = Engine::in_memory(
        "ok",
        Settings {
            half_life_ms: 0,
            ..Settings::default()
        },
        Scoring::default(),
        T0,
    )
    .unwrap_err();
    assert_eq!(bad_half_life.code, Code::OptionsInvalid);
}

/// One origin's localStorage as two tabs in two processes see it: each tab reads its own
/// copy, and the other's writes arrive later (as Chromium propagates them).
#[derive(Clone, Default)]
struct Replica {
    own: Rc<RefCell<BTreeMapStore>>,
    peer: Rc<RefCell<BTreeMapStore>>,
}
#[derive(Default)]
struct BTreeMapStore {
    map: std::collections::BTreeMap<String, String>,
    inbox: Vec<(String, Option<String>)>,
}
impl Replica {
    fn pair() -> (Replica, Replica) {
        let (a, b) = (
            Rc::new(RefCell::new(BTreeMapStore::default())),
            Rc::new(RefCell::new(BTreeMapStore::default())),
        );
        (
            Replica {
                own: a.clone(),
                peer: b.clone(),
            },
            Replica { own: b, peer: a },
        )
    }
    fn deliver(&self) {
        let mut own = self.own.borrow_mut();
        for (k, v) in std::mem::take(&mut own.inbox) {
            match v {
                Some(v) => own.map.insert(k, v),
                None => own.map.remove(&k),
            };
        }
    }
}
impl ProfileStore for Replica {
    fn get(&self, key: &str) -> pocketrank::Result<Option<String>> {
        Ok(self.own.borrow().map.get(key).cloned())
    }
    fn set(&mut self, key: &str, value: &str) -> pocketrank::Result<()> {
        self.own.borrow_mut().map.insert(key.into(), value.into());
        self.peer
            .borrow_mut()
            .inbox
            .push((key.into(), Some(value.into())));
        Ok(())
    }
    fn remove(&mut self, key: &str) -> pocketrank::Result<()> {
        self.own.borrow_mut().map.remove(key);
        self.peer.borrow_mut().inbox.push((key.into(), None));
        Ok(())
    }
    fn keys(&self) -> pocketrank::Result<Vec<String>> {
        Ok(self.own.borrow().map.keys().cloned().collect())
    }
}

#[test]
fn two_tabs_writing_over_each_others_stale_copies_converge_without_losing_events() {
    let (ra, rb) = Replica::pair();
    let scoring = Scoring::default;
    let mut a = Engine::open(
        Box::new(ra.clone()),
        "test",
        Settings::default(),
        scoring(),
        T0,
    )
    .unwrap();
    let mut b = Engine::open(
        Box::new(rb.clone()),
        "test",
        Settings::default(),
        scoring(),
        T0,
    )
    .unwrap();
    for i in 0..10 {
        a.record(&view("from-a"), T0 + i).unwrap();
        b.record(&view("from-b"), T0 + i).unwrap();
        a.forget("nothing", T0 + i);
        if i % 3 == 0 {
            // Sometimes a write arrives in between, sometimes not.
            ra.deliver();
            a.sync(T0 + i);
        }
    }
    for _ in 0..3 {
        ra.deliver();
        rb.deliver();
        a.sync(T0 + 20);
        b.sync(T0 + 20);
    }
    for tab in [&a, &b] {
        let p = tab.profile();
        assert_eq!(
            (
                p.interests["from-a"].counts[0],
                p.interests["from-b"].counts[0]
            ),
            (10, 10)
        );
    }
    let fresh = Engine::open(
        Box::new(ra),
        "test",
        Settings::default(),
        scoring(),
        T0 + 30,
    )
    .unwrap();
    assert_eq!(fresh.profile().interests["from-b"].counts[0], 10);
}

#[test]
fn a_clear_in_one_tab_also_drops_the_other_tabs_unwritten_changes() {
    let (ra, rb) = Replica::pair();
    let mut a = Engine::open(
        Box::new(ra.clone()),
        "test",
        Settings::default(),
        Scoring::default(),
        T0,
    )
    .unwrap();
    let mut b = Engine::open(
        Box::new(rb.clone()),
        "test",
        Settings::default(),
        Scoring::default(),
        T0,
    )
    .unwrap();
    a.record(&view("x"), T0).unwrap();
    rb.deliver();
    b.record(&view("y"), T0).unwrap();
    ra.deliver();
    a.sync(T0);
    a.clear().unwrap();
    rb.deliver();
    b.sync(T0 + 1);
    assert!(b.profile().is_empty());
    assert!(rb.keys().unwrap().is_empty());
}

#[test]
fn a_full_store_gets_the_heaviest_part_that_fits_and_the_page_keeps_everything() {
    let store = Shared::default();
    let mut e = open(&store, T0);
    e.record(&Event::new(EventKind::Purchase, ["favourite"]), T0)
        .unwrap();
    for i in 0..20 {
        e.record(&view(&format!("early-{i:02}")), T0).unwrap();
    }
    let fitted = e.status().stored_bytes;
    // From now on the store refuses anything larger than what it holds.
    let full = MemoryStore::with_quota(fitted + "pocketrank:test:profile".len() + 2);
    let mut e = Engine::open(
        Box::new(full),
        "test",
        Settings::default(),
        Scoring::default(),
        T0,
    )
    .unwrap();
    e.import(&open(&store, T0).export(T0), T0).unwrap();
    for i in 0..200 {
        e.record(&view(&format!("late-{i:03}")), T0 + i).unwrap();
    }
    let p = e.profile();
    assert!(p.interests.contains_key("favourite"));
    assert!(
        p.interests.contains_key("late-199"),
        "nothing recorded is lost on this page"
    );
    assert_eq!(
        e.status().reason.as_ref().unwrap().code,
        Code::StorageQuota,
        "and the engine says why"
    );
    assert!(
        e.status().stored_bytes <= fitted + 2,
        "what is stored fits the store"
    );
}

#[test]
fn hundreds_of_page_loads_never_set_the_profile_aside() {
    // Every page load is a new engine, hence a new writer: 0.1.0 wrote one writer more than
    // it could read back, and quarantined the profile on the 18th load.
    let s = Shared::default();
    for load in 0..300i64 {
        let now = T0 + load * 3_600_000;
        let mut e = open(&s, now);
        assert!(
            e.status().quarantined.is_empty() && e.status().reason.is_none(),
            "load {load}: {:?}",
            e.status()
        );
        assert_eq!(
            e.profile()
                .interests
                .get("running")
                .map_or(0, |i| i.counts[0]),
            load as u32,
            "load {load}: every earlier view is still there"
        );
        e.record(&view("running"), now).unwrap();
    }
}

#[test]
fn a_profile_saved_by_0_1_0_with_seventeen_writers_loads_without_loss() {
    // Written by the code of 0.1.0 (commit c299af9): 17 page loads, one view each.
    let old = include_str!("fixtures/profile-v1-17-writers.json");
    let s = Shared::default();
    s.0.borrow_mut()
        .set("pocketrank:test:profile", old)
        .unwrap();
    let mut e = open(&s, 1_795_968_000_000);
    assert!(e.status().quarantined.is_empty(), "{:?}", e.status());
    let p = e.profile();
    let views: u32 = ["category:running", "category:baking"]
        .iter()
        .map(|t| p.interests[*t].counts[0])
        .sum();
    assert_eq!(views, 17);
    assert_eq!(p.interests["brand:acme"].counts[0], 17);
    assert_eq!(p.items.len(), 5);
    e.record(&view("running"), 1_795_968_000_001).unwrap();
    let again = open(&s, 1_795_968_000_002);
    assert!(again.status().quarantined.is_empty());
    assert_eq!(again.profile().interests["brand:acme"].counts[0], 17);
}

#[test]
fn quarantined_copies_stay_bounded_and_clear_removes_them() {
    let s = Shared::default();
    for i in 0..20i64 {
        let garbage = format!("{{\"v\":1,\"i\":[[\"broken-{i}\"{}", "x".repeat(9000));
        s.0.borrow_mut()
            .set("pocketrank:test:profile", &garbage)
            .unwrap();
        let e = open(&s, T0 + i / 2); // two finds in the same millisecond each time
        assert_eq!(e.status().quarantined.len(), 1);
    }
    let keys: Vec<String> = s
        .keys()
        .unwrap()
        .into_iter()
        .filter(|k| k.contains(":quarantine:"))
        .collect();
    assert!(keys.len() <= store::MAX_QUARANTINED, "{keys:?}");
    let bytes: usize = keys.iter().map(|k| s.get(k).unwrap().unwrap().len()).sum();
    assert!(bytes <= store::MAX_QUARANTINE_BYTES, "{bytes}");
    // The newest copy is always kept.
    assert!(keys
        .iter()
        .any(|k| s.get(k).unwrap().unwrap().contains("broken-19")));
    let mut e = open(&s, T0 + 100);
    e.record(&view("running"), T0 + 100).unwrap();
    e.clear().unwrap();
    assert!(s.keys().unwrap().is_empty());
}

#[test]
fn quarantine_keeps_older_copies_only_within_its_byte_limit_and_always_the_newest() {
    let s = Shared::default();
    let quarantined = |s: &Shared| -> Vec<String> {
        let mut v: Vec<String> = s
            .keys()
            .unwrap()
            .into_iter()
            .filter(|k| k.contains(":quarantine:"))
            .map(|k| s.get(&k).unwrap().unwrap())
            .collect();
        v.sort();
        v
    };
    // Two unreadable values of 20,000 bytes fit in the limit; a third would not.
    let big = |n: usize| format!("{{\"v\":1,\"i\":[[\"broken-{n}\"{}", "x".repeat(20_000));
    for n in 0..3 {
        s.0.borrow_mut()
            .set("pocketrank:test:profile", &big(n))
            .unwrap();
        let e = open(&s, T0 + n as i64);
        assert_eq!(e.status().quarantined.len(), 1);
    }
    let kept = quarantined(&s);
    assert_eq!(kept.len(), 2, "three would exceed the byte limit");
    assert!(kept.iter().map(String::len).sum::<usize>() <= store::MAX_QUARANTINE_BYTES);
    assert!(
        kept.iter().any(|v| v.contains("broken-2")) && kept.iter().any(|v| v.contains("broken-1"))
    );
    // An unreadable privacy record is set aside under the same bounds, beside them.
    s.0.borrow_mut()
        .set(&store::privacy_key("test"), "{not json")
        .unwrap();
    let e = open(&s, T0 + 10);
    assert!(
        e.status().quarantined[0].ends_with("-privacy"),
        "{:?}",
        e.status()
    );
    let kept = quarantined(&s);
    assert!(kept.contains(&"{not json".to_string()));
    assert!(kept.len() <= store::MAX_QUARANTINED);
    // One value larger than the whole limit is still set aside (never lost), alone.
    let huge = format!(
        "{{\"v\":1,\"i\":[{}",
        "y".repeat(store::MAX_QUARANTINE_BYTES)
    );
    s.0.borrow_mut()
        .set("pocketrank:test:profile", &huge)
        .unwrap();
    let e = open(&s, T0 + 20);
    assert_eq!(e.status().quarantined.len(), 1);
    assert_eq!(quarantined(&s), vec![huge]);
}

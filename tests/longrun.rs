//! A shopper's months, not a demo's minute: long random sequences of page loads (each a new
//! writer), several tabs whose writes reach each other late, every public call, clock jumps
//! forward (days, months, past retention) and backward (a wrong device clock), a full store
//! and clears. After every step: nothing is set aside, what is stored decodes and fits, and
//! what an engine just wrote decodes to what it holds; at the end no event is lost or counted
//! twice.
#![cfg(not(target_arch = "wasm32"))]

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;

use pocketrank::profile::{Event, EventKind, Profile, Settings, MAX_STORED_BYTES, MAX_WRITERS};
use pocketrank::rank::{Request, Scoring, SplitMix64};
use pocketrank::safeguard::SafeguardState;
use pocketrank::store::{self, ProfileStore};
use pocketrank::{Catalog, Code, Engine, Error};
use proptest::prelude::*;

const T0: i64 = 1_795_910_400_000;
const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;
const NS: &str = "soak";
const TAGS: [&str; 12] = [
    "category:running",
    "category:baking",
    "category:knitting",
    "category:sailing",
    "brand:acme",
    "brand:zenith",
    "colour:red",
    "colour:blue",
    "size:m",
    "health:diabetes",
    "secret:x",
    "secret:y",
];
const ITEMS: [&str; 8] = [
    "sku-1", "sku-2", "sku-3", "sku-4", "sku-5", "sku-6", "sku-7", "sku-8",
];
const WORDS: [&str; 6] = ["trail", "shoes", "flour", "wool", "Sail", "boat"];
const TABS: usize = 3;

fn catalog() -> Catalog {
    Catalog::from_json(
        r#"{"version":1,"id":"soak","fallback":"G","offers":[
        {"id":"RUN","tags":{"category:running":1,"brand:acme":0.4},"caps":{"perDay":2}},
        {"id":"BAKE","tags":{"category:baking":1},"items":["sku-2"]},
        {"id":"KNIT","tags":{"category:knitting":1,"colour:red":0.3}},
        {"id":"SAIL","tags":{"category:sailing":1},"caps":{"perWeek":3}},
        {"id":"BLUE","tags":{"colour:blue":1,"size:m":0.5}},
        {"id":"G"}]}"#,
    )
    .unwrap()
}

/// One origin's storage as each tab sees it. As in a browser, every write takes its place in
/// one order (the browser's), the writing tab sees its own write at once, and the other tabs
/// see the writes late, in that order; a tab ignores what it learns late about a key it has
/// itself written since.
#[derive(Default)]
struct Origin {
    log: Vec<(String, Option<String>, usize)>,
    copies: Vec<BTreeMap<String, String>>,
    /// Per tab: how far into the log it has seen, and the position of its own latest write
    /// of each key.
    seen: Vec<usize>,
    own: Vec<BTreeMap<String, usize>>,
    /// The origin's storage is full: every write is refused.
    full: Cell<bool>,
}

#[derive(Clone)]
struct TabStore {
    tab: usize,
    origin: Rc<RefCell<Origin>>,
}

impl TabStore {
    fn write(&self, key: &str, value: Option<&str>) -> pocketrank::Result<()> {
        let mut o = self.origin.borrow_mut();
        if value.is_some() && o.full.get() {
            return Err(Error::new(Code::StorageQuota, "full"));
        }
        match value {
            Some(v) => o.copies[self.tab].insert(key.into(), v.into()),
            None => o.copies[self.tab].remove(key),
        };
        let at = o.log.len();
        o.log
            .push((key.into(), value.map(str::to_string), self.tab));
        o.own[self.tab].insert(key.into(), at);
        Ok(())
    }
}

impl ProfileStore for TabStore {
    fn get(&self, key: &str) -> pocketrank::Result<Option<String>> {
        Ok(self.origin.borrow().copies[self.tab].get(key).cloned())
    }
    fn set(&mut self, key: &str, value: &str) -> pocketrank::Result<()> {
        self.write(key, Some(value))
    }
    fn remove(&mut self, key: &str) -> pocketrank::Result<()> {
        self.write(key, None)
    }
    fn keys(&self) -> pocketrank::Result<Vec<String>> {
        Ok(self.origin.borrow().copies[self.tab]
            .keys()
            .cloned()
            .collect())
    }
}

/// `n` more of the other tabs' writes reach `tab`; whether one of them removed the profile
/// (the browser tells the tab so with a `storage` event, whatever the tab wrote since).
fn deliver(origin: &Rc<RefCell<Origin>>, tab: usize, n: usize) -> bool {
    let mut o = origin.borrow_mut();
    let mut left = n;
    let mut removed = false;
    while left > 0 && o.seen[tab] < o.log.len() {
        let at = o.seen[tab];
        o.seen[tab] += 1;
        let (k, v, from) = o.log[at].clone();
        if from == tab {
            continue;
        }
        left -= 1;
        removed |= v.is_none() && k == store::profile_key(NS);
        if o.own[tab].get(&k).is_some_and(|&mine| mine > at) {
            continue;
        }
        match v {
            Some(v) => o.copies[tab].insert(k, v),
            None => o.copies[tab].remove(&k),
        };
    }
    removed
}

#[derive(Debug, Clone)]
enum Op {
    /// An event in a tab: kind, tag indices, item, search words.
    Record(usize, EventKind, Vec<usize>, Option<usize>, Vec<usize>),
    /// Choose an offer (counted as shown) and report it.
    ChooseAndReport(usize, u64),
    /// Click or dismiss one of the catalog's offers.
    Feedback(usize, usize, bool),
    /// Some of a tab's late writes arrive.
    Deliver(usize, usize),
    /// The tab loads a new page: a new engine, a new writer.
    PageLoad(usize),
    /// The clock moves (can be backward).
    Clock(i64),
    /// The origin's storage fills up, or is freed.
    Full(bool),
    // The shopper's controls, in one tab, once every tab is up to date.
    Forget(usize, usize),
    ForgetItem(usize, usize),
    Pause(usize, bool),
    Clear(usize),
    ExportImport(usize),
    Sensitive(usize, bool),
}

fn arb_op() -> impl Strategy<Value = Op> {
    let tab = 0..TABS;
    prop_oneof![
        30 => (tab.clone(), prop_oneof![Just(EventKind::View), Just(EventKind::Cart), Just(EventKind::Purchase), Just(EventKind::Search)],
               proptest::collection::vec(0..TAGS.len(), 0..3), proptest::option::of(0..ITEMS.len()), proptest::collection::vec(0..WORDS.len(), 0..3))
            .prop_map(|(t, k, tags, item, words)| Op::Record(t, k, tags, item, words)),
        8 => (tab.clone(), any::<u64>()).prop_map(|(t, s)| Op::ChooseAndReport(t, s)),
        3 => (tab.clone(), 0..6usize, any::<bool>()).prop_map(|(t, o, c)| Op::Feedback(t, o, c)),
        12 => (tab.clone(), 1..4usize).prop_map(|(t, n)| Op::Deliver(t, n)),
        8 => tab.clone().prop_map(Op::PageLoad),
        10 => prop_oneof![
            4 => 1..30_000i64,
            6 => 2 * MINUTE..6 * HOUR,
            2 => DAY..20 * DAY,
            1 => 60 * DAY..200 * DAY,
            1 => -3 * DAY..-MINUTE,
        ].prop_map(Op::Clock),
        1 => any::<bool>().prop_map(Op::Full),
        1 => (tab.clone(), 0..TAGS.len()).prop_map(|(t, g)| Op::Forget(t, g)),
        1 => (tab.clone(), 0..ITEMS.len()).prop_map(|(t, i)| Op::ForgetItem(t, i)),
        1 => (tab.clone(), any::<bool>()).prop_map(|(t, p)| Op::Pause(t, p)),
        1 => tab.clone().prop_map(Op::Clear),
        1 => tab.clone().prop_map(Op::ExportImport),
        1 => (tab, any::<bool>()).prop_map(|(t, a)| Op::Sensitive(t, a)),
    ]
}

/// What the shopper taught, counted two ways: `lazy` forgets only what the shopper removed
/// (an engine may never hold more), `eager` keeps only the events that nothing could have
/// dropped: younger than retention at the latest time seen, not followed by a dismissal of
/// an offer with the tag (an engine may never hold fewer).
#[derive(Default, Debug)]
struct Taught {
    lazy: BTreeMap<String, [u32; 4]>,
    eager: BTreeMap<String, Vec<(i64, usize)>>,
    /// Keys a dismissal may still lower in some tab (until every tab is up to date).
    volatile: std::collections::BTreeSet<String>,
}

impl Taught {
    fn add(&mut self, key: &str, slot: usize, now: i64) {
        self.lazy.entry(key.into()).or_default()[slot] += 1;
        if !self.volatile.contains(key) {
            self.eager.entry(key.into()).or_default().push((now, slot));
        }
    }
    fn drop_eager(&mut self, key: &str) {
        self.eager.remove(key);
    }
    fn forget(&mut self, key: &str) {
        self.lazy.remove(key);
        self.eager.remove(key);
    }
    fn retain(&mut self, latest: i64, retention: i64) {
        for events in self.eager.values_mut() {
            events.retain(|&(t, _)| t >= latest - retention);
        }
    }
    fn eager_counts(&self, key: &str) -> [u32; 4] {
        let mut c = [0; 4];
        for &(_, s) in self.eager.get(key).into_iter().flatten() {
            c[s] += 1;
        }
        c
    }
}

struct World {
    origin: Rc<RefCell<Origin>>,
    engines: Vec<Engine>,
    now: i64,
    /// The latest time the clock showed.
    latest: i64,
    interests: Taught,
    items: Taught,
    shopper_sensitive: bool,
    loads: usize,
}

fn open(origin: &Rc<RefCell<Origin>>, tab: usize, now: i64) -> Engine {
    Engine::open(
        Box::new(TabStore {
            tab,
            origin: origin.clone(),
        }),
        NS,
        Settings::default(),
        Scoring::default(),
        now,
    )
    .unwrap()
}

impl World {
    fn new() -> World {
        let origin = Rc::new(RefCell::new(Origin {
            copies: vec![BTreeMap::new(); TABS],
            seen: vec![0; TABS],
            own: vec![BTreeMap::new(); TABS],
            ..Origin::default()
        }));
        let engines = (0..TABS).map(|t| open(&origin, t, T0)).collect();
        World {
            origin,
            engines,
            now: T0,
            latest: T0,
            interests: Taught::default(),
            items: Taught::default(),
            shopper_sensitive: false,
            loads: TABS,
        }
    }

    fn deliver(&mut self, tab: usize, n: usize) {
        if deliver(&self.origin, tab, n) {
            self.engines[tab].cleared_elsewhere(self.now);
        }
    }

    /// Before the shopper uses a control in one tab. Known limit, stated in the README: while
    /// the origin's storage is full, what a tab could not write lives in that tab only, and a
    /// control used in another tab cannot reach it (nothing stored, nothing to remove, no
    /// `storage` event). So storage is freed, and every tab up to date, first.
    fn control(&mut self) {
        self.origin.borrow().full.set(false);
        self.settle();
    }

    /// Every late write arrives and every tab reads it (a `storage` event, or its next call).
    fn settle(&mut self) {
        for _ in 0..20 {
            for t in 0..TABS {
                self.deliver(t, usize::MAX);
            }
            for e in &mut self.engines {
                e.sync(self.now);
            }
            let o = self.origin.borrow();
            if o.seen.iter().all(|&s| s == o.log.len()) {
                self.interests.volatile.clear();
                return;
            }
        }
        panic!("the tabs did not settle in 20 rounds");
    }

    fn sensitive(&self, tag: &str) -> bool {
        Settings::default().is_sensitive(tag)
            || (self.shopper_sensitive && tag.starts_with("secret"))
    }

    fn step(&mut self, op: &Op) -> Result<(), TestCaseError> {
        let now = self.now;
        let mut wrote: Option<usize> = None;
        match op.clone() {
            Op::Record(t, kind, tags, item, words) => {
                let mut e = Event::new(kind, tags.iter().map(|&i| TAGS[i]));
                if let Some(i) = item {
                    e = e.with_item(ITEMS[i]);
                }
                if kind == EventKind::Search {
                    let text: Vec<&str> = words.iter().map(|&w| WORDS[w]).collect();
                    e = e.with_terms(text.join(" "));
                }
                let Ok((_, taught)) = e.validate() else {
                    prop_assert!(self.engines[t].record(&e, now).is_err());
                    return Ok(());
                };
                if self.engines[t].record(&e, now).unwrap() {
                    let slot = kind as usize;
                    let touched_sensitive = taught.iter().any(|g| self.sensitive(g));
                    // One sensitive word makes the whole search sensitive.
                    let kept: Vec<&String> = taught
                        .iter()
                        .filter(|g| !self.sensitive(g))
                        .filter(|g| {
                            !(touched_sensitive && e.terms.is_some() && g.starts_with("search:"))
                        })
                        .collect();
                    for g in kept {
                        self.interests.add(g, slot, now);
                    }
                    if let (Some(i), false, true) =
                        (item, touched_sensitive, kind != EventKind::Search)
                    {
                        self.items.add(ITEMS[i], slot, now);
                    }
                    wrote = Some(t);
                }
            }
            Op::ChooseAndReport(t, seed) => {
                let c = catalog();
                let e = &mut self.engines[t];
                let d = e.choose(&c, &Request::new(1, now), &mut SplitMix64(seed), true);
                if let Some(d) = d.first() {
                    let body = e.report_body(&c, d, &mut SplitMix64(seed ^ 1));
                    prop_assert!(e.log_report(&body, "/offers/report", now).is_some());
                    let rec = SafeguardState::decode(
                        &stored(&self.origin, t, &store::privacy_key(NS)).unwrap_or_default(),
                    );
                    if !self.origin.borrow().full.get() {
                        prop_assert_eq!(
                            &rec.unwrap(),
                            e.privacy_record(),
                            "the stored privacy record is what the tab holds"
                        );
                    }
                }
            }
            Op::Feedback(t, o, click) => {
                let c = catalog();
                let offer = c.offer(o).id.clone();
                let kind = if click {
                    EventKind::Click
                } else {
                    EventKind::Dismiss
                };
                if !click {
                    // A dismissal teaches against the offer's tags: they may drop out, with
                    // whatever other tabs teach about them until every tab has applied it.
                    for (tag, _) in c.tags_of(o) {
                        self.interests.drop_eager(tag);
                        self.interests.volatile.insert(tag.to_string());
                    }
                }
                self.engines[t].feedback(&offer, kind, now).unwrap();
            }
            Op::Deliver(t, n) => self.deliver(t, n),
            Op::PageLoad(t) => {
                // A navigation takes far longer than storage takes to reach every tab.
                // A page closed while the origin's storage is full loses what only it held (its
                // status said so: `storage.quota`); storage is freed before navigating here so
                // that the counts stay exact, and the full store is exercised within a page.
                self.origin.borrow().full.set(false);
                self.settle();
                self.engines[t] = open(&self.origin, t, now);
                self.loads += 1;
            }
            Op::Clock(dt) => {
                if dt.abs() > MINUTE {
                    // Minutes pass: every write has long reached every tab's storage (tabs
                    // read it at their next call).
                    for t in 0..TABS {
                        self.deliver(t, usize::MAX);
                    }
                }
                self.now += dt;
            }
            Op::Full(full) => {
                if !full {
                    self.origin.borrow().full.set(false);
                    // Storage has room again: every tab's next call writes what it holds.
                    self.settle();
                } else {
                    self.origin.borrow().full.set(true);
                }
            }
            Op::Forget(t, g) => {
                self.control();
                self.engines[t].forget(TAGS[g], now);
                self.interests.forget(TAGS[g]);
                self.settle();
            }
            Op::ForgetItem(t, i) => {
                self.control();
                self.engines[t].forget_item(ITEMS[i], now);
                self.items.forget(ITEMS[i]);
                self.settle();
            }
            Op::Pause(t, p) => {
                self.control();
                self.engines[t].set_paused(p, now);
                self.settle();
            }
            Op::Clear(t) => {
                self.control();
                self.engines[t].clear().unwrap();
                self.interests = Taught::default();
                self.items = Taught::default();
                self.shopper_sensitive = false;
                self.settle();
            }
            Op::ExportImport(t) => {
                self.control();
                let e = &mut self.engines[t];
                let text = e.export(now);
                e.import(&text, now).unwrap();
                self.settle();
            }
            Op::Sensitive(t, add) => {
                self.control();
                if add {
                    self.engines[t].add_sensitive("secret", now).unwrap();
                    for g in TAGS.iter().filter(|g| g.starts_with("secret")) {
                        self.interests.forget(g);
                    }
                } else {
                    self.engines[t].remove_sensitive("secret", now);
                }
                self.shopper_sensitive = add;
                self.settle();
            }
        }
        let retention = Settings::default().retention_ms;
        self.latest = self.latest.max(self.now);
        self.interests.retain(self.latest, retention);
        self.items.retain(self.latest, retention);
        self.check(wrote)
    }

    /// What must hold after every step.
    fn check(&self, wrote: Option<usize>) -> Result<(), TestCaseError> {
        for (t, e) in self.engines.iter().enumerate() {
            let st = e.status();
            prop_assert!(
                st.quarantined.is_empty(),
                "tab {} set a value aside: {:?}",
                t,
                st
            );
            prop_assert!(
                st.reason
                    .as_ref()
                    .is_none_or(|r| r.code == Code::StorageQuota),
                "tab {}: {:?}",
                t,
                st.reason
            );
            if let Some(text) = stored(&self.origin, t, &store::profile_key(NS)) {
                prop_assert!(text.len() <= MAX_STORED_BYTES, "{} bytes", text.len());
                let p = Profile::decode(&text);
                prop_assert!(
                    p.is_ok(),
                    "tab {} cannot read what was written: {:?}",
                    t,
                    p.err()
                );
                prop_assert!(p.unwrap().applied.len() <= MAX_WRITERS);
            }
            if let Some(text) = stored(&self.origin, t, &store::privacy_key(NS)) {
                prop_assert!(
                    SafeguardState::decode(&text).is_ok(),
                    "privacy record of tab {}",
                    t
                );
            }
        }
        if let Some(t) = wrote.filter(|_| !self.origin.borrow().full.get()) {
            let text = stored(&self.origin, t, &store::profile_key(NS)).unwrap();
            prop_assert_eq!(
                &Profile::decode(&text).unwrap(),
                self.engines[t].profile(),
                "what tab {} wrote is what it holds",
                t
            );
        }
        Ok(())
    }

    /// At the end: every tab holds every event the shopper taught, once.
    fn check_taught(&mut self) -> Result<(), TestCaseError> {
        self.origin.borrow().full.set(false);
        self.settle();
        for (t, e) in self.engines.iter().enumerate() {
            let p = e.profile();
            for (what, taught, held) in [
                (
                    "interest",
                    &self.interests,
                    p.interests
                        .iter()
                        .map(|(k, i)| {
                            (
                                k.clone(),
                                [i.counts[0], i.counts[1], i.counts[2], i.counts[3]],
                            )
                        })
                        .collect::<BTreeMap<_, _>>(),
                ),
                (
                    "item",
                    &self.items,
                    p.items
                        .iter()
                        .map(|(k, i)| (k.clone(), [i.counts[0], i.counts[1], i.counts[2], 0]))
                        .collect(),
                ),
            ] {
                let keys: std::collections::BTreeSet<&String> =
                    taught.lazy.keys().chain(held.keys()).collect();
                for k in keys {
                    let h = held.get(k).copied().unwrap_or_default();
                    let lo = taught.eager_counts(k);
                    let hi = taught.lazy.get(k).copied().unwrap_or_default();
                    for s in 0..4 {
                        prop_assert!(
                            lo[s] <= h[s] && h[s] <= hi[s],
                            "tab {}: {} {:?} kind {}: holds {}, taught between {} and {}",
                            t,
                            what,
                            k,
                            s,
                            h[s],
                            lo[s],
                            hi[s]
                        );
                    }
                }
            }
        }
        Ok(())
    }
}

fn stored(origin: &Rc<RefCell<Origin>>, tab: usize, key: &str) -> Option<String> {
    origin.borrow().copies[tab].get(key).cloned()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn months_of_page_loads_and_tabs_lose_nothing_and_set_nothing_aside(ops in proptest::collection::vec(arb_op(), ops_range())) {
        let mut w = World::new();
        for op in &ops {
            w.step(op)?;
        }
        w.check_taught()?;
        // The run was long enough to matter: many more writers than the profile remembers.
        if std::env::var("LONGRUN_OPS").is_err() {
            prop_assert!(w.loads > 4 * MAX_WRITERS, "{} page loads", w.loads);
        }
    }
}

#[test]
fn a_tab_left_open_while_others_load_many_pages_does_not_count_its_events_twice() {
    let mut w = World::new();
    let view = |tag: usize| Op::Record(0, EventKind::View, vec![tag], None, vec![]);
    w.step(&view(0)).unwrap();
    w.step(&Op::Deliver(1, 10)).unwrap();
    // Tab 1 loads 40 pages, each recording: tab 0's writer is evicted from the profile.
    for _ in 0..40 {
        w.step(&Op::PageLoad(1)).unwrap();
        w.step(&Op::Record(1, EventKind::View, vec![1], None, vec![]))
            .unwrap();
        w.step(&Op::Clock(MINUTE)).unwrap();
    }
    w.step(&Op::Deliver(0, 1000)).unwrap();
    w.step(&view(2)).unwrap();
    w.check_taught().unwrap();
    assert_eq!(w.engines[0].profile().interests[TAGS[0]].counts[0], 1);
}

fn ops_range() -> std::ops::Range<usize> {
    match std::env::var("LONGRUN_OPS") {
        Ok(n) => 1..n.parse().unwrap(),
        Err(_) => 1500..2500,
    }
}

//! A shopper's months, not a demo's minute: long random sequences of page loads (each a new
//! writer), several tabs whose writes reach each other late, every public call (record,
//! feedback, choose with several slots or as a preview, report in every privacy mode, view,
//! privacy view, privacy options, forget, pause, clear, export and import, an import refused),
//! clock jumps forward (days, months, past retention) and backward (a wrong device clock, by
//! minutes to months), a store whose quota is full or nearly full for many steps, and clears.
//!
//! After every step: nothing is set aside (no quarantine key anywhere in storage), what is
//! stored decodes and fits, what a tab wrote in the step decodes to what it holds (profile and
//! privacy record), and the recent items are held items, in order, each once. At the end no event,
//! impression, click or dismissal is lost or counted twice (after a write the quota refused,
//! only later ones must be held).
#![cfg(not(target_arch = "wasm32"))]

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use pocketrank::privacy::{PrivacySettings, ReportMode};
use pocketrank::profile::{
    Event, EventKind, Profile, Settings, MAX_INTERESTS, MAX_RECENT, MAX_STORED_BYTES, MAX_WRITERS,
};
use pocketrank::rank::{Request, Scoring, SplitMix64};
use pocketrank::safeguard::SafeguardState;
use pocketrank::store::{self, ProfileStore};
use pocketrank::{Catalog, Code, Engine, Error};
use proptest::prelude::*;

const T0: i64 = 1_795_910_400_000;
const SECOND: i64 = 1_000;
const MINUTE: i64 = 60 * SECOND;
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

/// What the shopper browses, and the catalog the site sends.
struct Vocab {
    tags: Vec<String>,
    items: Vec<String>,
    catalog: Catalog,
    /// Every count is checked exactly (the bounds are never reached).
    exact: bool,
}

impl Vocab {
    fn small() -> Vocab {
        Vocab {
            tags: TAGS.iter().map(|s| s.to_string()).collect(),
            items: ITEMS.iter().map(|s| s.to_string()).collect(),
            catalog: Catalog::from_json(
                r#"{"version":1,"id":"soak","fallback":"G","offers":[
                {"id":"RUN","tags":{"category:running":1,"brand:acme":0.4},"caps":{"perDay":2}},
                {"id":"BAKE","tags":{"category:baking":1},"items":["sku-2"]},
                {"id":"KNIT","tags":{"category:knitting":1,"colour:red":0.3}},
                {"id":"SAIL","tags":{"category:sailing":1},"caps":{"perWeek":3}},
                {"id":"BLUE","tags":{"colour:blue":1,"size:m":0.5}},
                {"id":"G"}]}"#,
            )
            .unwrap(),
            exact: true,
        }
    }
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
    /// The origin's quota, in bytes of keys and values: a write that would exceed it is
    /// refused (`Some(0)`: every write is).
    quota: Option<usize>,
    /// Per tab, the keys it wrote in the current step, and whether every write of it was
    /// accepted.
    wrote: Vec<BTreeMap<String, bool>>,
}

#[derive(Clone)]
struct TabStore {
    tab: usize,
    origin: Rc<RefCell<Origin>>,
}

impl TabStore {
    fn write(&self, key: &str, value: Option<&str>) -> pocketrank::Result<()> {
        let mut o = self.origin.borrow_mut();
        if let (Some(v), Some(quota)) = (value, o.quota) {
            let used: usize = o.copies[self.tab]
                .iter()
                .filter(|(k, _)| k.as_str() != key)
                .map(|(k, v)| k.len() + v.len())
                .sum();
            if used + key.len() + v.len() > quota {
                o.wrote[self.tab].insert(key.into(), false);
                return Err(Error::new(Code::StorageQuota, "full"));
            }
        }
        o.wrote[self.tab].entry(key.into()).or_insert(true);
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

/// The privacy options a site may deploy; every page loaded after uses them.
fn privacy(mode: usize) -> PrivacySettings {
    match mode % 4 {
        0 => PrivacySettings::default(),
        // Exact reports without a bound in bits: every question's answer is remembered.
        1 => PrivacySettings {
            bits_per_window: f64::INFINITY,
            ..PrivacySettings::default()
        },
        2 => PrivacySettings {
            mode: ReportMode::Noised,
            epsilon_per_report: 0.01,
            budget_per_window: 1000.0,
            ..PrivacySettings::default()
        },
        _ => PrivacySettings {
            mode: ReportMode::PrivateChoice,
            epsilon_per_report: 0.05,
            budget_per_window: 1000.0,
            ..PrivacySettings::default()
        },
    }
}

#[derive(Debug, Clone)]
enum Op {
    /// An event in a tab: kind, tags, item, search words (indices, taken modulo the vocabulary).
    Record(usize, EventKind, Vec<usize>, Option<usize>, Vec<usize>),
    /// Choose `count` offers for a page (context), as shown or as a preview; report the first.
    Choose {
        tab: usize,
        seed: u64,
        count: usize,
        preview: bool,
        context: usize,
    },
    /// Many reports in a row, a second apart (a busy shopper, or a busy page).
    ReportBurst(usize, usize, u64),
    /// Many distinct pages asked in a row, a second apart.
    QuestionBurst(usize, usize, u64),
    /// Click or dismiss one of the catalog's offers.
    Feedback(usize, usize, bool),
    /// Some of a tab's late writes arrive.
    Deliver(usize, usize),
    /// The tab loads a new page: a new engine, a new writer.
    PageLoad(usize),
    /// The clock moves (can be backward).
    Clock(i64),
    /// The origin's quota changes: none, full, or room for so many bytes.
    Quota(Option<usize>),
    /// The site deploys other privacy options.
    Privacy(usize),
    /// "Your data" and the privacy page are read.
    Views(usize),
    // The shopper's controls, in one tab, once every tab is up to date.
    Forget(usize, usize),
    ForgetItem(usize, usize),
    Pause(usize, bool),
    Clear(usize),
    ExportImport(usize),
    /// An export of another browser's profile is imported.
    ImportOther(usize, u64),
    /// Something that is not an export is imported: refused, nothing lost.
    ImportInvalid(usize, usize),
    Sensitive(usize, bool),
}

/// One step of the shopper's months. With `large`, also bursts of reports and of questions,
/// which fill the privacy record's lists (and cost most of the run's time).
fn arb_op(large: bool) -> impl Strategy<Value = Op> {
    let (reports, questions) = if large {
        (100..700usize, 100..400usize)
    } else {
        (5..30, 5..30)
    };
    let tab = 0..TABS;
    let idx = 0..10_000usize;
    prop_oneof![
        30 => (tab.clone(), prop_oneof![Just(EventKind::View), Just(EventKind::Cart), Just(EventKind::Purchase), Just(EventKind::Search)],
               proptest::collection::vec(idx.clone(), 0..4), proptest::option::of(idx.clone()), proptest::collection::vec(0..WORDS.len(), 0..3))
            .prop_map(|(t, k, tags, item, words)| Op::Record(t, k, tags, item, words)),
        8 => (tab.clone(), any::<u64>(), prop_oneof![6 => Just(1usize), 3 => 2..5usize, 1 => 70..100usize], any::<bool>(), 0..4usize)
            .prop_map(|(tab, seed, count, preview, context)| Op::Choose { tab, seed, count, preview, context }),
        1 => (tab.clone(), reports, any::<u64>()).prop_map(|(t, n, s)| Op::ReportBurst(t, n, s)),
        1 => (tab.clone(), questions, any::<u64>()).prop_map(|(t, n, s)| Op::QuestionBurst(t, n, s)),
        4 => (tab.clone(), idx.clone(), any::<bool>()).prop_map(|(t, o, c)| Op::Feedback(t, o, c)),
        12 => (tab.clone(), 1..4usize).prop_map(|(t, n)| Op::Deliver(t, n)),
        8 => tab.clone().prop_map(Op::PageLoad),
        10 => prop_oneof![
            4 => 1..30_000i64,
            6 => 2 * MINUTE..6 * HOUR,
            2 => DAY..20 * DAY,
            1 => 60 * DAY..200 * DAY,
            1 => -3 * DAY..-MINUTE,
            1 => -120 * DAY..-7 * DAY,
        ].prop_map(Op::Clock),
        2 => prop_oneof![
            2 => Just(None),
            1 => Just(Some(0usize)),
            2 => (4_000..40_000usize).prop_map(Some),
        ].prop_map(Op::Quota),
        1 => (0..4usize).prop_map(Op::Privacy),
        1 => tab.clone().prop_map(Op::Views),
        1 => (tab.clone(), idx.clone()).prop_map(|(t, g)| Op::Forget(t, g)),
        1 => (tab.clone(), idx).prop_map(|(t, i)| Op::ForgetItem(t, i)),
        1 => (tab.clone(), any::<bool>()).prop_map(|(t, p)| Op::Pause(t, p)),
        1 => tab.clone().prop_map(Op::Clear),
        1 => tab.clone().prop_map(Op::ExportImport),
        1 => (tab.clone(), any::<u64>()).prop_map(|(t, s)| Op::ImportOther(t, s)),
        1 => (tab.clone(), 0..4usize).prop_map(|(t, k)| Op::ImportInvalid(t, k)),
        1 => (tab, any::<bool>()).prop_map(|(t, a)| Op::Sensitive(t, a)),
    ]
    .prop_map(move |op| match op {
        // Filling the bounds takes many events within the retention period: no clear, no
        // import of a small profile, no pause, no jump of months, no short quota, an item on
        // most events.
        Op::Clear(t) | Op::ImportOther(t, _) if large => Op::Views(t),
        Op::Pause(t, _) if large => Op::Pause(t, false),
        // The short quota is the small vocabulary's (its tabs write each other's part).
        Op::Quota(_) if large => Op::Quota(None),
        // More events, and fewer dismissals (which drop interests).
        Op::Feedback(t, o, false) if large => Op::Record(t, EventKind::Cart, vec![o], Some(o), vec![]),
        Op::Clock(dt) if large && (1..30_000).contains(&dt) => {
            let i = dt as usize;
            Op::Record(i % TABS, EventKind::View, vec![i / 3], Some(i / 7), vec![])
        }
        Op::Clock(dt) if large => Op::Clock(dt.clamp(-30 * DAY, DAY)),
        Op::Record(t, k, tags, item, words) if large => {
            let item = item.or(tags.first().map(|g| g / 3));
            Op::Record(t, k, tags, item, words)
        }
        op => op,
    })
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
    volatile: BTreeSet<String>,
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

/// What happened to one offer: impressions noted, clicks, the latest dismissal.
#[derive(Default, Debug, Clone, PartialEq)]
struct OfferTaught {
    shown: u32,
    clicks: u32,
    dismissed: Option<i64>,
}

/// The largest size each bounded list reached, and how many times the stored profile was
/// shrunk to its cap.
#[derive(Default, Debug)]
struct Reached {
    interests: usize,
    items: usize,
    recent: usize,
    offers: usize,
    writers: usize,
    ledger: usize,
    spends: usize,
    answers: usize,
    stored: usize,
}

struct World {
    vocab: Vocab,
    origin: Rc<RefCell<Origin>>,
    engines: Vec<Engine>,
    privacy: usize,
    now: i64,
    /// The latest time the clock showed.
    latest: i64,
    interests: Taught,
    items: Taught,
    offers: BTreeMap<String, OfferTaught>,
    /// A page closed while storage was full: what only it held is gone (its status said so),
    /// so nothing taught before can be required to be held any more.
    lossy: bool,
    shopper_sensitive: bool,
    loads: usize,
    reached: Reached,
    /// Per tab, the stored profile and privacy record last found readable (decoding them
    /// again when unchanged would only cost time).
    checked: Vec<[Option<String>; 2]>,
}

fn open(origin: &Rc<RefCell<Origin>>, tab: usize, now: i64, mode: usize) -> Engine {
    let mut e = Engine::open(
        Box::new(TabStore {
            tab,
            origin: origin.clone(),
        }),
        NS,
        Settings::default(),
        Scoring::default(),
        now,
    )
    .unwrap();
    e.set_privacy(privacy(mode), now).unwrap();
    e
}

impl World {
    fn new(vocab: Vocab) -> World {
        let origin = Rc::new(RefCell::new(Origin {
            copies: vec![BTreeMap::new(); TABS],
            seen: vec![0; TABS],
            own: vec![BTreeMap::new(); TABS],
            wrote: vec![BTreeMap::new(); TABS],
            ..Origin::default()
        }));
        let engines = (0..TABS).map(|t| open(&origin, t, T0, 0)).collect();
        World {
            vocab,
            origin,
            engines,
            privacy: 0,
            now: T0,
            latest: T0,
            interests: Taught::default(),
            items: Taught::default(),
            offers: BTreeMap::new(),
            lossy: false,
            shopper_sensitive: false,
            loads: TABS,
            reached: Reached::default(),
            checked: vec![[None, None]; TABS],
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
        self.origin.borrow_mut().quota = None;
        self.settle();
    }

    /// Every late write arrives and every tab reads it (a `storage` event, or its next call).
    /// While the quota is short, tabs that can write only part of what they hold may go on
    /// writing it over each other at every `storage` event (a known limit): after 20 rounds,
    /// what they did not settle on may be lost.
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
        assert!(
            self.origin.borrow().quota.is_some(),
            "the tabs did not settle in 20 rounds"
        );
        self.mark_lossy();
    }

    fn sensitive(&self, tag: &str) -> bool {
        Settings::default().is_sensitive(tag)
            || (self.shopper_sensitive && tag.starts_with("secret"))
    }

    fn tag(&self, i: usize) -> &str {
        &self.vocab.tags[i % self.vocab.tags.len()]
    }

    fn item(&self, i: usize) -> &str {
        &self.vocab.items[i % self.vocab.items.len()]
    }

    /// Starts the taught counts over from what an imported profile holds.
    fn taught_from(&mut self, p: &Profile) {
        self.interests = Taught::default();
        self.items = Taught::default();
        self.offers.clear();
        for (tag, i) in p.interests.iter() {
            for s in 0..4 {
                for _ in 0..i.counts[s] {
                    self.interests.add(tag, s, i.last_seen);
                }
            }
        }
        for (item, h) in p.items.iter() {
            for s in 0..3 {
                for _ in 0..h.counts[s] {
                    self.items.add(item, s, h.last_seen);
                }
            }
        }
        for (offer, o) in p.offers.iter() {
            self.offers.insert(
                offer.clone(),
                OfferTaught {
                    shown: o.total,
                    clicks: o.clicks,
                    dismissed: o.dismissed,
                },
            );
        }
    }

    /// A write was refused: what was stored is the heaviest part of the profile, and what it
    /// left out may be lost to the next write of another tab (by design: the README's known
    /// limit). Only later events must be held.
    fn lossy_if_refused(&mut self) {
        if self
            .origin
            .borrow()
            .wrote
            .iter()
            .any(|w| w.values().any(|ok| !ok))
        {
            self.mark_lossy();
        }
    }

    /// From now on, only later events must be held.
    fn mark_lossy(&mut self) {
        self.lossy = true;
        self.interests.eager.clear();
        self.items.eager.clear();
    }

    /// The site deploys privacy options `mode` ([`privacy`]) in every tab.
    fn set_privacy(&mut self, mode: usize) {
        self.privacy = mode;
        for e in &mut self.engines {
            e.set_privacy(privacy(mode), self.now).unwrap();
        }
    }

    /// Chooses for a page in tab `t`; notes the impressions unless a preview.
    fn choose(&mut self, t: usize, seed: u64, count: usize, preview: bool, context: &[String]) {
        let now = self.now;
        let c = &self.vocab.catalog;
        let req = Request {
            context,
            count,
            now,
            exclude: &[],
        };
        let e = &mut self.engines[t];
        let d = e.choose(c, &req, &mut SplitMix64(seed), !preview);
        assert!(d.len() <= count.min(c.len()));
        if !preview && !e.paused() {
            for x in &d {
                self.offers.entry(x.offer_id.clone()).or_default().shown += 1;
            }
        }
        if let Some(first) = d.first() {
            let body = e.report_body(c, first, &mut SplitMix64(seed ^ 1));
            e.log_report(&body, "/offers/report", now);
        }
    }

    fn step(&mut self, op: &Op) -> Result<(), TestCaseError> {
        for w in &mut self.origin.borrow_mut().wrote {
            w.clear();
        }
        let now = self.now;
        let mut acted: Option<usize> = None;
        match op.clone() {
            Op::Record(t, kind, tags, item, words) => {
                let mut e = Event::new(kind, tags.iter().map(|&i| self.tag(i).to_string()));
                if let Some(i) = item {
                    e = e.with_item(self.item(i));
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
                    let kept: Vec<String> = taught
                        .iter()
                        .filter(|g| !self.sensitive(g))
                        .filter(|g| {
                            !(touched_sensitive && e.terms.is_some() && g.starts_with("search:"))
                        })
                        .cloned()
                        .collect();
                    for g in kept {
                        self.interests.add(&g, slot, now);
                    }
                    if let (Some(i), false, true) =
                        (item, touched_sensitive, kind != EventKind::Search)
                    {
                        let it = self.item(i).to_string();
                        self.items.add(&it, slot, now);
                    }
                }
                acted = Some(t);
            }
            Op::Choose {
                tab,
                seed,
                count,
                preview,
                context,
            } => {
                let ctx = vec![format!("slot:page-{context}")];
                self.choose(tab, seed, count, preview, &ctx);
                acted = Some(tab);
            }
            Op::ReportBurst(t, n, seed) => {
                // The site reports with noise (each report spends).
                self.set_privacy(2);
                let c = &self.vocab.catalog;
                let d = self.engines[t].choose(
                    c,
                    &Request::new(1, self.now),
                    &mut SplitMix64(seed),
                    false,
                );
                for k in 0..n {
                    self.now += SECOND;
                    let e = &mut self.engines[t];
                    if let Some(d) = d.first() {
                        let body = e.report_body(c, d, &mut SplitMix64(seed ^ k as u64));
                        e.log_report(&body, "/offers/report", self.now);
                    }
                }
                acted = Some(t);
            }
            Op::QuestionBurst(t, n, seed) => {
                // Exact reports without a bound in bits: every answer is remembered.
                self.set_privacy(1);
                for k in 0..n {
                    self.now += SECOND;
                    let ctx = vec![format!("slot:q-{}", (seed as usize).wrapping_add(k) % 1000)];
                    self.choose(t, seed ^ k as u64, 1, true, &ctx);
                }
                acted = Some(t);
            }
            Op::Feedback(t, o, click) => {
                let c = &self.vocab.catalog;
                let o = o % c.len();
                let offer = c.offer(o).id.clone();
                let kind = if click {
                    EventKind::Click
                } else {
                    EventKind::Dismiss
                };
                if !click {
                    // A dismissal teaches against the offer's tags: they may drop out, with
                    // whatever other tabs teach about them until every tab has applied it.
                    let tags: Vec<String> = c.tags_of(o).map(|(t, _)| t.to_string()).collect();
                    for tag in tags {
                        self.interests.drop_eager(&tag);
                        self.interests.volatile.insert(tag);
                    }
                }
                if self.engines[t].feedback(&offer, kind, now).unwrap() {
                    let h = self.offers.entry(offer).or_default();
                    if click {
                        h.clicks += 1;
                    } else {
                        h.dismissed = h.dismissed.max(Some(now));
                    }
                }
                acted = Some(t);
            }
            Op::Deliver(t, n) => self.deliver(t, n),
            Op::PageLoad(t) => {
                // A navigation takes far longer than storage takes to reach every tab.
                self.settle();
                let held = self.engines[t].profile().clone();
                let stored = stored(&self.origin, t, &store::profile_key(NS))
                    .and_then(|s| Profile::decode(&s).ok())
                    .unwrap_or_default();
                if self.origin.borrow().quota.is_some() && !same_data(&held, &stored) {
                    // The page closes while storage is full: what only it held is lost.
                    self.lossy = true;
                    self.interests.eager.clear();
                    self.items.eager.clear();
                }
                self.lossy_if_refused();
                self.origin.borrow_mut().wrote[t].clear();
                self.engines[t] = open(&self.origin, t, now, self.privacy);
                self.loads += 1;
                acted = Some(t);
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
            Op::Quota(q) => {
                self.origin.borrow_mut().quota = q;
                if q.is_none() {
                    // Storage has room again: every tab's next call writes what it holds.
                    self.settle();
                }
            }
            Op::Privacy(mode) => self.set_privacy(mode),
            Op::Views(t) => {
                let e = &mut self.engines[t];
                let v = e.view(now);
                prop_assert!(v.interests.len() <= e.profile().interests.len());
                prop_assert!(v.items.len() <= e.profile().items.len());
                let pv = e.privacy_view(now);
                prop_assert_eq!(pv.ledger.len(), e.privacy_record().ledger.len());
                acted = Some(t);
            }
            Op::Forget(t, g) => {
                self.control();
                let tag = self.tag(g).to_string();
                self.engines[t].forget(&tag, now);
                self.interests.forget(&tag);
                self.settle();
            }
            Op::ForgetItem(t, i) => {
                self.control();
                let item = self.item(i).to_string();
                self.engines[t].forget_item(&item, now);
                self.items.forget(&item);
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
                self.offers.clear();
                self.lossy = false;
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
            Op::ImportOther(t, seed) => {
                self.control();
                // Another browser's shopper: a few events over the last days.
                let mut other =
                    Engine::in_memory("other", Settings::default(), Scoring::default(), now)
                        .unwrap();
                let mut rng = SplitMix64(seed);
                for k in 0..1 + seed % 6 {
                    use pocketrank::Random;
                    let tag = self.tag(rng.below(10_000)).to_string();
                    let item = self.item(rng.below(10_000)).to_string();
                    let at = now - (k as i64) * HOUR;
                    other
                        .record(&Event::new(EventKind::Cart, [tag]).with_item(item), at)
                        .unwrap();
                }
                let text = other.export(now);
                let e = &mut self.engines[t];
                if e.import(&text, now).is_ok() {
                    let p = e.profile().clone();
                    self.taught_from(&p);
                    self.lossy = false;
                }
                self.settle();
            }
            Op::ImportInvalid(t, kind) => {
                self.control();
                let e = &mut self.engines[t];
                let before = e.profile().clone();
                let stored_before = stored(&self.origin, t, &store::profile_key(NS));
                let bad = [
                    "not json".to_string(),
                    r#"{"v":99,"i":[]}"#.to_string(),
                    format!(
                        r#"{{"v":1,"i":[{}],"t":[],"o":[]}}"#,
                        (0..MAX_INTERESTS + 1)
                            .map(|i| format!(r#"["t:{i}",1,{now},{now},{now},[1,0,0,0,0,0]]"#))
                            .collect::<Vec<_>>()
                            .join(",")
                    ),
                    r#"{"v":1,"i":[["ok",-5,0,0,0,[0,0,0,0,0,0]]],"t":[],"o":[]}"#.to_string(),
                ];
                let err = e.import(&bad[kind], now);
                prop_assert!(
                    err.as_ref().is_err_and(|x| matches!(
                        x.code,
                        Code::ProfileInvalid | Code::ProfileNewerVersion
                    )),
                    "{:?}",
                    err
                );
                prop_assert_eq!(e.profile(), &before, "a refused import changes nothing");
                prop_assert_eq!(
                    stored(&self.origin, t, &store::profile_key(NS)),
                    stored_before
                );
            }
            Op::Sensitive(t, add) => {
                self.control();
                if add {
                    self.engines[t].add_sensitive("secret", now).unwrap();
                    let doomed: Vec<String> = self
                        .vocab
                        .tags
                        .iter()
                        .filter(|g| g.starts_with("secret"))
                        .cloned()
                        .collect();
                    for g in doomed {
                        self.interests.forget(&g);
                    }
                } else {
                    self.engines[t].remove_sensitive("secret", now);
                }
                self.shopper_sensitive = add;
                self.settle();
                acted = Some(t);
            }
        }
        self.lossy_if_refused();
        let retention = Settings::default().retention_ms;
        self.latest = self.latest.max(self.now);
        self.interests.retain(self.latest, retention);
        self.items.retain(self.latest, retention);
        self.check(acted)
    }

    /// What must hold after every step.
    fn check(&mut self, acted: Option<usize>) -> Result<(), TestCaseError> {
        let (pkey, gkey) = (store::profile_key(NS), store::privacy_key(NS));
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
            let keys: Vec<String> = self.origin.borrow().copies[t].keys().cloned().collect();
            prop_assert!(
                keys.iter().all(|k| !k.contains(":quarantine:")),
                "tab {} sees a quarantined value: {:?}",
                t,
                keys
            );
            let text = stored(&self.origin, t, &pkey);
            if let Some(text) = text.filter(|x| self.checked[t][0].as_ref() != Some(x)) {
                prop_assert!(text.len() <= MAX_STORED_BYTES, "{} bytes", text.len());
                self.reached.stored = self.reached.stored.max(text.len());
                let p = Profile::decode(&text);
                prop_assert!(
                    p.is_ok(),
                    "tab {} cannot read what was written: {:?}",
                    t,
                    p.err()
                );
                prop_assert!(p.unwrap().applied.len() <= MAX_WRITERS);
                self.checked[t][0] = Some(text);
            }
            let text = stored(&self.origin, t, &gkey);
            if let Some(text) = text.filter(|x| self.checked[t][1].as_ref() != Some(x)) {
                let g = SafeguardState::decode(&text);
                prop_assert!(g.is_ok(), "privacy record of tab {}: {:?}", t, g.err());
                self.checked[t][1] = Some(text);
            }
            let p = e.profile();
            check_recent(p).map_err(|m| TestCaseError::fail(format!("tab {t}: {m}")))?;
            let g = e.privacy_record();
            let r = &mut self.reached;
            r.interests = r.interests.max(p.interests.len());
            r.items = r.items.max(p.items.len());
            r.recent = r.recent.max(p.recent.len());
            r.offers = r.offers.max(p.offers.len());
            r.writers = r.writers.max(p.applied.len());
            r.ledger = r.ledger.max(g.ledger.len());
            r.spends = r.spends.max(g.spent.spent.len()).max(g.bits.spent.len());
            r.answers = r.answers.max(g.answers.len());
        }
        // What the tab wrote in this step (every write of it accepted) is what it holds.
        if let Some(t) = acted {
            let wrote = self.origin.borrow().wrote[t].clone();
            if wrote.get(&pkey) == Some(&true) {
                if let Some(text) = stored(&self.origin, t, &pkey) {
                    prop_assert_eq!(
                        &Profile::decode(&text).unwrap(),
                        self.engines[t].profile(),
                        "what tab {} wrote is what it holds",
                        t
                    );
                }
            }
            if wrote.get(&gkey) == Some(&true) {
                if let Some(text) = stored(&self.origin, t, &gkey) {
                    let (a, b) = (
                        rounded(&SafeguardState::decode(&text).unwrap()),
                        rounded(self.engines[t].privacy_record()),
                    );
                    let what = "the privacy record tab wrote is what it holds";
                    prop_assert_eq!(&a.spent, &b.spent, "{} (spends), tab {}", what, t);
                    prop_assert_eq!(&a.bits, &b.bits, "{} (bits), tab {}", what, t);
                    prop_assert_eq!(&a.ledger, &b.ledger, "{} (ledger), tab {}", what, t);
                    prop_assert_eq!(&a.answers, &b.answers, "{} (answers), tab {}", what, t);
                    prop_assert_eq!(a, b, "{}, tab {}", what, t);
                }
            }
        }
        Ok(())
    }

    /// At the end: every tab holds every event, impression, click and dismissal the shopper
    /// taught, once (with the large vocabulary, where the bounds evict, never more than once).
    fn check_taught(&mut self) -> Result<(), TestCaseError> {
        self.origin.borrow_mut().quota = None;
        self.settle();
        let exact = self.vocab.exact;
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
                let keys: BTreeSet<&String> = taught.lazy.keys().chain(held.keys()).collect();
                for k in keys {
                    let h = held.get(k).copied().unwrap_or_default();
                    let lo = if exact {
                        taught.eager_counts(k)
                    } else {
                        [0; 4]
                    };
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
            let ids: BTreeSet<&String> = self.offers.keys().chain(p.offers.keys()).collect();
            for id in ids {
                let want = self.offers.get(id).cloned().unwrap_or_default();
                let held = p.offers.get(id).map(|o| OfferTaught {
                    shown: o.total,
                    clicks: o.clicks,
                    dismissed: o.dismissed,
                });
                match held {
                    Some(h) => {
                        prop_assert!(
                            h.shown <= want.shown
                                && h.clicks <= want.clicks
                                && h.dismissed <= want.dismissed,
                            "tab {}: offer {}: holds {:?}, taught {:?}",
                            t,
                            id,
                            h,
                            want
                        );
                        if exact && !self.lossy {
                            prop_assert_eq!(
                                (h.shown, h.clicks),
                                (want.shown, want.clicks),
                                "tab {}: offer {}",
                                t,
                                id
                            );
                        }
                    }
                    // Offers are only dropped for the bound, or a dismissal past retention.
                    None => prop_assert!(
                        !exact || self.lossy || (want.shown == 0 && want.clicks == 0),
                        "tab {}: offer {} lost: taught {:?}",
                        t,
                        id,
                        want
                    ),
                }
            }
        }
        Ok(())
    }
}

/// The record with every ε (or bits) to 6 decimals: serde_json (without its `float_roundtrip`
/// feature) reads a sum such as 0.9900000000000007 back one unit in the last place off.
fn rounded(g: &SafeguardState) -> SafeguardState {
    let mut g = g.clone();
    for s in g.spent.spent.iter_mut().chain(g.bits.spent.iter_mut()) {
        s.e = (s.e * 1e6).round() / 1e6;
    }
    g
}

/// Whether two profiles hold the same shopper's data (the writers aside).
fn same_data(a: &Profile, b: &Profile) -> bool {
    a.interests == b.interests
        && a.items == b.items
        && a.offers == b.offers
        && a.recent == b.recent
        && a.paused == b.paused
}

/// The recent items are held items, each once, oldest first: none counted twice. (Not checked:
/// that they are newer than every other held item. After a forget and a clock set back, an
/// older item can take a place a newer one left.)
fn check_recent(p: &Profile) -> Result<(), String> {
    let seen = |i: &String| p.items.get(i).map(|h| h.last_seen);
    let unique: BTreeSet<&String> = p.recent.iter().collect();
    if unique.len() != p.recent.len() || p.recent.len() > MAX_RECENT {
        return Err(format!("recent items twice or too many: {:?}", p.recent));
    }
    let times: Vec<Option<i64>> = p.recent.iter().map(seen).collect();
    if times.iter().any(Option::is_none) || times.windows(2).any(|w| w[0] > w[1]) {
        return Err(format!("recent items {:?} at {:?}", p.recent, times));
    }
    Ok(())
}

fn stored(origin: &Rc<RefCell<Origin>>, tab: usize, key: &str) -> Option<String> {
    origin.borrow().copies[tab].get(key).cloned()
}

fn run(vocab: Vocab, ops: &[Op]) -> Result<World, TestCaseError> {
    let mut w = World::new(vocab);
    for op in ops {
        w.step(op)?;
    }
    w.check_taught()?;
    Ok(w)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(8), ..ProptestConfig::default() })]

    #[test]
    fn months_of_page_loads_and_tabs_lose_nothing_and_set_nothing_aside(ops in proptest::collection::vec(arb_op(false), ops_range(1500..2500))) {
        let w = run(Vocab::small(), &ops)?;
        // The run was long enough to matter: many more writers than the profile remembers.
        if std::env::var("LONGRUN_OPS").is_err() {
            prop_assert!(w.loads > 4 * MAX_WRITERS, "{} page loads", w.loads);
        }
    }
}

#[test]
fn a_tab_left_open_while_others_load_many_pages_does_not_count_its_events_twice() {
    let mut w = World::new(Vocab::small());
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

fn cases(default: u32) -> u32 {
    std::env::var("LONGRUN_CASES").map_or(default, |n| n.parse().unwrap())
}

fn ops_range(default: std::ops::Range<usize>) -> std::ops::Range<usize> {
    match std::env::var("LONGRUN_OPS") {
        Ok(n) => 1..n.parse().unwrap(),
        Err(_) => default,
    }
}

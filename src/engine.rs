//! The engine: a profile kept in a store, events in, decisions out, the shopper's controls.
//!
//! Plain Rust like the rest of the core: the browser binding gives it a store
//! (`localStorage` or memory), the time and the random source. Its promises:
//!
//! - a stored value that cannot be read is set aside under a quarantine key, never
//!   overwritten; one written by a newer version is left untouched and the engine runs
//!   in memory;
//! - storage failures never make `record` fail: the engine goes on in memory and
//!   [`Engine::status`] says why;
//! - every write re-reads the stored profile first, so that two tabs recording at the
//!   same time lose nothing.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::catalog::Catalog;
use crate::error::{Code, Error, Result};
use crate::profile::{Event, EventKind, Profile, Settings, MAX_STORED_BYTES};
use crate::rank::{self, Decision, Random, Request, Scoring};
use crate::store::{self, ProfileStore};
use crate::Millis;

/// Where the profile lives right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StorageMode {
    /// In the store (in the browser: `localStorage`).
    Local,
    /// In memory only: gone when the page closes.
    Memory,
}

/// What the engine can say about its storage.
#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    /// Where the profile lives.
    pub storage: StorageMode,
    /// Why storage is not (fully) used, or what was found at load.
    pub reason: Option<Error>,
    /// Keys under which unreadable values were set aside.
    pub quarantined: Vec<String>,
    /// A profile of a newer schema is stored and left untouched.
    pub newer_version_stored: bool,
    /// Size of the stored profile, in bytes.
    pub stored_bytes: usize,
}

/// The engine over one store and namespace.
pub struct Engine {
    namespace: String,
    key: String,
    store: Box<dyn ProfileStore>,
    persistent: bool,
    profile: Profile,
    settings: Settings,
    scoring: Scoring,
    last_raw: Option<String>,
    status: Status,
    shown: BTreeMap<String, Vec<String>>,
    writer: u32,
    seq: u64,
    pending: Vec<(u64, Change, Millis)>,
}

/// A change this engine made, kept until a stored profile is seen to include it, so that
/// it can be applied again on top of another tab's write.
#[derive(Debug, Clone)]
enum Change {
    Record(Event),
    Impression(String),
    Forget(String),
    ForgetItem(String),
    Pause(bool),
}

/// Most changes kept while waiting to be seen in storage.
const MAX_PENDING: usize = 512;

static NEXT_WRITER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(1);

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("namespace", &self.namespace)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// Opens the profile of `namespace` in `store`. Fails only for invalid options; a
    /// store that cannot be used or a value that cannot be read shows in [`Engine::status`].
    pub fn open(
        store: Box<dyn ProfileStore>,
        namespace: &str,
        settings: Settings,
        scoring: Scoring,
        now: Millis,
    ) -> Result<Engine> {
        store::check_namespace(namespace)?;
        settings.validate()?;
        if !(0.0..=1.0).contains(&scoring.exploration) {
            return Err(Error::at_field(
                Code::OptionsInvalid,
                "exploration",
                "must be in [0, 1]",
            ));
        }
        let mut engine = Engine {
            namespace: namespace.to_string(),
            key: store::profile_key(namespace),
            store,
            persistent: true,
            profile: Profile::new(),
            settings,
            scoring,
            last_raw: None,
            status: Status {
                storage: StorageMode::Local,
                reason: None,
                quarantined: Vec::new(),
                newer_version_stored: false,
                stored_bytes: 0,
            },
            shown: BTreeMap::new(),
            writer: NEXT_WRITER.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            seq: 0,
            pending: Vec::new(),
        };
        engine.sync(now);
        engine.profile.prune(now, &engine.settings);
        Ok(engine)
    }

    /// Opens an engine that never touches any store.
    pub fn in_memory(
        namespace: &str,
        settings: Settings,
        scoring: Scoring,
        now: Millis,
    ) -> Result<Engine> {
        let mut e = Engine::open(
            Box::new(store::MemoryStore::new()),
            namespace,
            settings,
            scoring,
            now,
        )?;
        e.go_memory(None);
        Ok(e)
    }

    /// Records that the store could not be used at all, so the engine runs in memory.
    pub fn mark_unavailable(&mut self, reason: Error) {
        self.go_memory(Some(reason));
    }

    fn go_memory(&mut self, reason: Option<Error>) {
        self.persistent = false;
        self.status.storage = StorageMode::Memory;
        if reason.is_some() {
            self.status.reason = reason;
        }
    }

    /// Reads the stored profile if it changed since it was last read or written (another
    /// tab wrote it), setting aside what cannot be read.
    pub fn sync(&mut self, now: Millis) {
        if !self.persistent {
            return;
        }
        let raw = match self.store.get(&self.key) {
            Ok(raw) => raw,
            Err(e) => return self.go_memory(Some(e)),
        };
        if raw == self.last_raw {
            return;
        }
        let Some(text) = raw else {
            // Cleared elsewhere: the shopper's choice applies here too, to changes not yet
            // written as well.
            self.profile = Profile {
                paused: self.profile.paused,
                ..Profile::new()
            };
            self.pending.clear();
            self.last_raw = None;
            self.status.stored_bytes = 0;
            return;
        };
        match Profile::decode(&text) {
            Ok(p) => {
                // Another tab wrote. Its value includes our changes up to the sequence
                // number it records for us; apply the later ones again on top of it.
                let included = p.applied.get(&self.writer).map_or(0, |&(seq, _)| seq);
                self.pending.retain(|(seq, _, _)| *seq > included);
                self.profile = p;
                self.status.stored_bytes = text.len();
                self.last_raw = Some(text);
                if !self.pending.is_empty() {
                    for (seq, change, t) in &self.pending {
                        apply(&mut self.profile, change, *t, &self.settings);
                        self.profile.applied.insert(self.writer, (*seq, *t));
                    }
                    self.persist(now);
                }
            }
            Err(e) if e.code == Code::ProfileNewerVersion => {
                self.status.newer_version_stored = true;
                self.go_memory(Some(e));
            }
            Err(e) => {
                let qkey = store::quarantine_key(&self.namespace, now);
                match self.store.set(&qkey, &text) {
                    Ok(()) => {
                        if let Err(err) = self.store.remove(&self.key) {
                            return self.go_memory(Some(err));
                        }
                        self.status.quarantined.push(qkey);
                        self.status.reason = Some(e);
                        self.last_raw = None;
                        self.status.stored_bytes = 0;
                    }
                    // Cannot set it aside: leave it where it is and touch nothing.
                    Err(err) => self.go_memory(Some(err)),
                }
            }
        }
    }

    /// Applies a change made here and keeps it until storage is seen to include it.
    fn change(&mut self, change: Change, now: Millis) -> bool {
        if !apply(&mut self.profile, &change, now, &self.settings) {
            return false;
        }
        self.seq += 1;
        self.profile.applied.insert(self.writer, (self.seq, now));
        if self.persistent {
            if self.pending.len() == MAX_PENDING {
                self.pending.remove(0);
            }
            self.pending.push((self.seq, change, now));
        }
        true
    }

    /// Sets this engine's writer ID (tabs must differ; the browser binding draws it at random).
    pub fn set_writer(&mut self, writer: u32) {
        self.writer = writer;
    }

    fn persist(&mut self, now: Millis) {
        if !self.persistent {
            return;
        }
        // The documented bound holds for the profile itself.
        let mut text = self
            .profile
            .shrink_and_encode(MAX_STORED_BYTES, now, &self.settings);
        let mut whole = true;
        for _ in 0..8 {
            match self.store.set(&self.key, &text) {
                Ok(()) => {
                    self.status.stored_bytes = text.len();
                    if whole
                        && self
                            .status
                            .reason
                            .as_ref()
                            .is_some_and(|r| r.code == Code::StorageQuota)
                    {
                        self.status.reason = None;
                    }
                    self.last_raw = Some(text);
                    return;
                }
                Err(e) if e.code == Code::StorageQuota => {
                    self.status.reason = Some(e);
                    // The store is full: write the heaviest part of the profile that fits,
                    // and keep the whole profile in memory for this page. What is stored
                    // now fitted, so try that size first, then smaller.
                    let stored = self.last_raw.as_ref().map_or(0, String::len);
                    let budget = if stored > 0 && stored < text.len() {
                        stored
                    } else {
                        text.len() * 3 / 4
                    };
                    let mut part = self.profile.clone();
                    text = part.shrink_and_encode(budget, now, &self.settings);
                    whole = false;
                }
                Err(e) => return self.go_memory(Some(e)),
            }
        }
    }

    /// Records an event. A refused event changes nothing; storage trouble never fails it.
    /// Returns `false` while paused (nothing is recorded).
    pub fn record(&mut self, event: &Event, now: Millis) -> Result<bool> {
        event.validate()?;
        self.sync(now);
        let recorded = self.change(Change::Record(event.clone()), now);
        if recorded {
            self.persist(now);
        }
        Ok(recorded)
    }

    /// Chooses up to `req.count` offers for a slot. When `note` is true the chosen offers
    /// count as shown (for caps).
    pub fn choose(
        &mut self,
        catalog: &Catalog,
        req: &Request,
        rng: &mut dyn Random,
        note: bool,
    ) -> Vec<Decision> {
        let now = req.now;
        self.sync(now);
        let decisions = rank::choose(
            catalog,
            &self.profile,
            &self.settings,
            &self.scoring,
            req,
            rng,
        );
        for d in &decisions {
            self.shown.insert(
                d.offer_id.clone(),
                catalog
                    .tags_of(d.offer)
                    .map(|(t, _)| t.to_string())
                    .collect(),
            );
            if self.shown.len() > 64 {
                let first = self.shown.keys().next().cloned().unwrap_or_default();
                self.shown.remove(&first);
            }
        }
        if note && !self.profile.paused && !decisions.is_empty() {
            for d in &decisions {
                self.change(Change::Impression(d.offer_id.clone()), now);
            }
            self.persist(now);
        }
        decisions
    }

    /// The shopper clicked or dismissed an offer. The offer's tags (when it was chosen by
    /// this engine) learn from it.
    pub fn feedback(&mut self, offer: &str, kind: EventKind, now: Millis) -> Result<bool> {
        if !matches!(kind, EventKind::Click | EventKind::Dismiss) {
            return Err(Error::at_field(
                Code::EventUnknownKind,
                "kind",
                "feedback is \"click\" or \"dismiss\"",
            ));
        }
        let tags = self.shown.get(offer).cloned().unwrap_or_default();
        let event = Event::new(kind, tags).with_offer(offer);
        self.record(&event, now)
    }

    /// The explanation of a decision, in the shopper's words.
    pub fn explain(&self, decision: &Decision) -> String {
        rank::explain(decision, &self.profile)
    }

    /// Forgets one interest at once. Returns whether it was there.
    pub fn forget(&mut self, tag: &str, now: Millis) -> bool {
        self.sync(now);
        let removed = self.change(Change::Forget(tag.to_string()), now);
        if removed {
            self.persist(now);
        }
        removed
    }

    /// Forgets one item at once. Returns whether it was there.
    pub fn forget_item(&mut self, item: &str, now: Millis) -> bool {
        self.sync(now);
        let removed = self.change(Change::ForgetItem(item.to_string()), now);
        if removed {
            self.persist(now);
        }
        removed
    }

    /// Removes every key the library wrote under this namespace, quarantined values
    /// included, and empties the profile. Returns how many keys were removed.
    pub fn clear(&mut self) -> Result<usize> {
        let paused = self.profile.paused;
        self.profile = Profile {
            paused,
            ..Profile::new()
        };
        self.shown.clear();
        self.pending.clear();
        self.last_raw = None;
        self.status.stored_bytes = 0;
        self.status.quarantined.clear();
        if self.status.storage == StorageMode::Local || self.status.newer_version_stored {
            return store::clear(self.store.as_mut(), &self.namespace);
        }
        Ok(0)
    }

    /// Pauses personalization: nothing is recorded and only the fallback is shown.
    pub fn set_paused(&mut self, paused: bool, now: Millis) {
        self.sync(now);
        if self.change(Change::Pause(paused), now) {
            self.persist(now);
        }
    }

    /// Whether personalization is paused.
    pub fn paused(&self) -> bool {
        self.profile.paused
    }

    /// The whole profile as JSON (the stored form, which [`Engine::import`] reads back).
    pub fn export(&mut self, now: Millis) -> String {
        self.sync(now);
        // Which tab wrote what is bookkeeping of this browser, not the shopper's data.
        let mut p = self.profile.clone();
        p.applied.clear();
        p.encode()
    }

    /// Replaces the profile with an export. A refused export changes nothing.
    pub fn import(&mut self, text: &str, now: Millis) -> Result<()> {
        let mut p = Profile::decode(text)?;
        p.prune(now, &self.settings);
        self.sync(now);
        // An import replaces everything, including what other tabs had not yet seen.
        p.applied.clear();
        self.pending.clear();
        self.seq += 1;
        p.applied.insert(self.writer, (self.seq, now));
        self.profile = p;
        self.persist(now);
        Ok(())
    }

    /// The profile as it is now.
    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    /// A readable view of the profile at `now`, for the shopper's "your data" page.
    pub fn view(&mut self, now: Millis) -> ProfileView {
        self.sync(now);
        ProfileView::of(&self.profile, now, &self.settings)
    }

    /// Storage mode, quarantined keys, and why.
    pub fn status(&self) -> &Status {
        &self.status
    }

    /// The settings in force.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The scoring in force.
    pub fn scoring(&self) -> &Scoring {
        &self.scoring
    }

    /// The namespace.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }
}

/// One interest, as the shopper sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InterestView {
    /// The tag, for example `category:running`.
    pub tag: String,
    /// The tag in plain words, for example `running`.
    pub label: String,
    /// Weight now (after decay), rounded.
    pub weight: f64,
    /// Events behind it, by kind (only kinds that happened).
    pub events: BTreeMap<&'static str, u32>,
    /// First event, ms since the epoch.
    pub first_seen: Millis,
    /// Latest event, ms since the epoch.
    pub last_seen: Millis,
}

/// One item, as the shopper sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemView {
    /// The item ID.
    pub item: String,
    /// Weight now (after decay), rounded.
    pub weight: f64,
    /// Views.
    pub views: u32,
    /// Times put in the cart.
    pub carts: u32,
    /// Purchases.
    pub purchases: u32,
    /// Latest event.
    pub last_seen: Millis,
    /// Latest purchase.
    pub last_purchase: Option<Millis>,
}

/// One offer, as the shopper has met it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OfferView {
    /// The offer ID.
    pub offer: String,
    /// Times shown.
    pub shown: u32,
    /// Latest impression.
    pub last_shown: Option<Millis>,
    /// Clicks.
    pub clicks: u32,
    /// Latest dismissal.
    pub dismissed: Option<Millis>,
}

/// The whole profile as the shopper sees it, heaviest interests first.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProfileView {
    /// Personalization paused.
    pub paused: bool,
    /// Interests, heaviest first.
    pub interests: Vec<InterestView>,
    /// Items, heaviest first.
    pub items: Vec<ItemView>,
    /// Offers shown or dismissed.
    pub offers: Vec<OfferView>,
}

impl ProfileView {
    /// The view of `profile` at `now`.
    pub fn of(profile: &Profile, now: Millis, settings: &Settings) -> ProfileView {
        let round = |w: f64| (w * 1000.0).round() / 1000.0;
        let mut interests: Vec<InterestView> = profile
            .interests
            .iter()
            .map(|(tag, i)| InterestView {
                tag: tag.clone(),
                label: rank::plain_tag(tag).to_string(),
                weight: round(settings.decay(i.weight, i.updated, now)),
                events: EventKind::ALL
                    .iter()
                    .zip(i.counts)
                    .filter(|(_, n)| *n > 0)
                    .map(|(k, n)| (k.as_str(), n))
                    .collect(),
                first_seen: i.first_seen,
                last_seen: i.last_seen,
            })
            .collect();
        interests.sort_by(|a, b| {
            b.weight
                .total_cmp(&a.weight)
                .then_with(|| a.tag.cmp(&b.tag))
        });
        let mut items: Vec<ItemView> = profile
            .items
            .iter()
            .map(|(item, h)| ItemView {
                item: item.clone(),
                weight: round(settings.decay(h.weight, h.updated, now)),
                views: h.counts[0],
                carts: h.counts[1],
                purchases: h.counts[2],
                last_seen: h.last_seen,
                last_purchase: h.last_purchase,
            })
            .collect();
        items.sort_by(|a, b| {
            b.weight
                .total_cmp(&a.weight)
                .then_with(|| a.item.cmp(&b.item))
        });
        let offers = profile
            .offers
            .iter()
            .map(|(offer, o)| OfferView {
                offer: offer.clone(),
                shown: o.total,
                last_shown: o.last_shown(),
                clicks: o.clicks,
                dismissed: o.dismissed,
            })
            .collect();
        ProfileView {
            paused: profile.paused,
            interests,
            items,
            offers,
        }
    }
}

/// Applies one change to a profile; whether anything changed.
fn apply(profile: &mut Profile, change: &Change, now: Millis, settings: &Settings) -> bool {
    match change {
        Change::Record(event) => profile.record(event, now, settings).unwrap_or(false),
        Change::Impression(offer) => {
            let was_paused = profile.paused;
            profile.note_impression(offer, now, settings);
            !was_paused
        }
        Change::Forget(tag) => profile.forget(tag),
        Change::ForgetItem(item) => profile.forget_item(item),
        Change::Pause(paused) => {
            let changed = profile.paused != *paused;
            profile.paused = *paused;
            changed
        }
    }
}

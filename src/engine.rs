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

use crate::map::SortedMap;

use serde::Serialize;

use crate::catalog::Catalog;
use crate::error::{Code, Error, Result};
use crate::privacy::{self, PrivacySettings, ReportMode};
use crate::profile::{Event, EventKind, Profile, Settings, MAX_STORED_BYTES, MAX_WRITERS};
use crate::rank::{self, Decision, Question, Random, Reason, Request, Scoring};
use crate::safeguard::{self, Answer, Guard, LedgerEntry, Mechanism, SafeguardState};
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
    /// Why the latest decision was not personal although the profile could have made it so.
    pub guard: Option<Guard>,
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
    shown: SortedMap<String, Vec<String>>,
    writer: u32,
    seq: u64,
    /// The order stamp of this engine's latest change ([`Profile::mark_written`]).
    last_stamp: Millis,
    /// The latest write did not store the whole profile (the store was full): the next call
    /// tries again, so that what the page holds reaches storage once there is room.
    unsaved: bool,
    pending: Vec<(u64, Change, Millis)>,
    privacy: PrivacySettings,
    guards: SafeguardState,
    guards_raw: Option<String>,
    /// False when a newer version's privacy record is stored: it is left untouched.
    guards_writable: bool,
    /// The latest write of the privacy record failed (a full store): the next call tries again.
    guards_unsaved: bool,
    /// The sensitive list changed, or a profile was read that may predate it: purge.
    purge_due: bool,
    /// The sensitive namespaces of the defaults and the site, before the shopper's own.
    base_sensitive: Vec<String>,
    entries: u32,
    /// The bits spend the latest personal decision made (exact reports).
    bits_spend: Option<u64>,
    /// The offers of the latest personal answers this engine gave, with the bits spend that
    /// paid for each (see [`Engine::log_report`]).
    answered: Vec<(String, u64)>,
}

/// Most offers of personal answers kept for their reports.
const MAX_ANSWERED: usize = 64;
/// How long a page waits before it reports a personal answer, so that what other tabs spent
/// at the same moment has reached it (storage events arrive within milliseconds).
pub const REPORT_SETTLE_MS: i32 = 250;

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
/// One day, in ms (a remembered answer from an earlier day may be asked afresh).
const DAY: Millis = 86_400_000;
/// How long a change seen in storage is still kept, in case a tab that had not seen it writes
/// over it: far longer than storage takes to reach every tab of a browser.
const PENDING_HOLD_MS: Millis = 60_000;

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
        let writer = NEXT_WRITER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Engine::open_as(store, namespace, settings, scoring, now, writer)
    }

    /// [`Engine::open`] as writer `writer`, from the first write on (tabs and page loads must
    /// differ: the browser binding draws it from the browser's random source).
    pub fn open_as(
        store: Box<dyn ProfileStore>,
        namespace: &str,
        settings: Settings,
        scoring: Scoring,
        now: Millis,
        writer: u32,
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
        let base_sensitive = settings.sensitive.clone();
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
                guard: None,
            },
            shown: SortedMap::new(),
            writer,
            seq: 0,
            last_stamp: Millis::MIN,
            unsaved: false,
            pending: Vec::new(),
            privacy: PrivacySettings::default(),
            guards: SafeguardState::new(),
            guards_raw: None,
            guards_writable: true,
            guards_unsaved: false,
            purge_due: false,
            base_sensitive,
            entries: 0,
            bits_spend: None,
            answered: Vec::new(),
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
        self.sync_guards(now);
        if self.persistent {
            self.sync_profile(now);
        }
        if self.purge_due {
            self.purge_sensitive(now);
        }
    }

    fn sync_profile(&mut self, now: Millis) {
        let raw = match self.store.get(&self.key) {
            Ok(raw) => raw,
            Err(e) => return self.go_memory(Some(e)),
        };
        if raw == self.last_raw {
            if self.unsaved {
                self.persist(now);
            }
            return;
        }
        let Some(text) = raw else {
            return self.drop_local();
        };
        match Profile::decode(&text) {
            Ok(p) => {
                // Another tab wrote. Its value includes our changes up to the sequence
                // number it records for us; apply the later ones again on top of it.
                let included = match p.applied.get(&self.writer) {
                    Some(&(seq, _)) => seq,
                    // Our entry was evicted by later writers: each of the newest MAX_WRITERS
                    // changes came after ours, so the value they wrote had ours included
                    // (a tab that never saw our write cannot write that many times in the
                    // moment it takes storage to reach every tab). Applying them again
                    // would count them twice.
                    None if p.applied.len() >= MAX_WRITERS
                        && p.applied.values().all(|&(_, t)| t > self.last_stamp) =>
                    {
                        u64::MAX
                    }
                    None => 0,
                };
                // The changes it has are kept a while all the same: a third tab that had not
                // seen them may still write over it, and then they are applied again.
                self.pending.retain(|(seq, _, t)| {
                    *seq > included || (now - *t < PENDING_HOLD_MS && included != u64::MAX)
                });
                self.profile = p;
                // A tab that had not yet learnt of a namespace the shopper made sensitive
                // may have recorded in it.
                self.purge_due = !self.guards.sensitive.is_empty();
                self.status.stored_bytes = text.len();
                self.last_raw = Some(text);
                let mut again = false;
                for (seq, change, t) in self.pending.iter().filter(|(seq, _, _)| *seq > included) {
                    apply(&mut self.profile, change, *t, &self.settings);
                    self.last_stamp = self.profile.mark_written(self.writer, *seq, *t);
                    again = true;
                }
                if again {
                    self.persist(now);
                }
            }
            Err(e) if e.code == Code::ProfileNewerVersion => {
                self.status.newer_version_stored = true;
                self.go_memory(Some(e));
            }
            Err(e) => {
                let key = self.key.clone();
                match self.set_aside(&key, "", &text, e, now) {
                    Ok(()) => {
                        self.last_raw = None;
                        self.status.stored_bytes = 0;
                    }
                    // Cannot set it aside: leave it where it is and touch nothing.
                    Err(err) => self.go_memory(Some(err)),
                }
            }
        }
    }

    /// Another tab removed the stored profile (the browser's `storage` event says so): the
    /// shopper cleared it there. That choice applies here too, to changes not yet written as
    /// well, and to a write of ours that reached storage after the removal. Needed when this
    /// tab could not write (a full store): then what it reads looks unchanged.
    pub fn cleared_elsewhere(&mut self, now: Millis) {
        if !self.persistent {
            return;
        }
        let ours =
            self.last_raw.is_some() && self.store.get(&self.key).ok().flatten() == self.last_raw;
        if ours {
            if let Err(e) = self.store.remove(&self.key) {
                return self.go_memory(Some(e));
            }
        }
        self.drop_local();
        self.sync(now);
    }

    /// Empties the profile this tab holds (personalization stays paused if it was), with the
    /// changes it has not written yet.
    fn drop_local(&mut self) {
        self.profile = Profile {
            paused: self.profile.paused,
            ..Profile::new()
        };
        self.pending.clear();
        self.unsaved = false;
        self.last_raw = None;
        self.status.stored_bytes = 0;
    }

    /// Reads the stored privacy record if it changed, merging it with this tab's (entries are
    /// sets: no tab's report is lost), and setting aside what cannot be read.
    fn sync_guards(&mut self, now: Millis) {
        let key = store::privacy_key(&self.namespace);
        let raw = match self.store.get(&key) {
            Ok(raw) => raw,
            Err(e) => return self.go_memory(Some(e)),
        };
        if raw == self.guards_raw {
            if self.guards_unsaved {
                self.persist_guards();
            }
            return;
        }
        let Some(text) = raw else {
            // Cleared elsewhere: everything it held goes, as the shopper asked.
            self.guards = SafeguardState::new();
            self.guards_raw = None;
            self.apply_sensitive();
            return;
        };
        match SafeguardState::decode(&text) {
            Ok(mut stored) => {
                self.guards_raw = Some(text);
                let ours_had_more = stored.merge(&self.guards);
                self.guards = stored;
                self.guards.prune(now, &self.privacy);
                self.apply_sensitive();
                if ours_had_more {
                    self.persist_guards();
                }
            }
            Err(e) if e.code == Code::ProfileNewerVersion => {
                // Left untouched; the safeguards go on in memory for this page.
                self.guards_writable = false;
                self.guards_raw = Some(text);
                self.status.newer_version_stored = true;
            }
            Err(e) => match self.set_aside(&key, "-privacy", &text, e, now) {
                Ok(()) => {
                    self.guards_raw = None;
                    self.persist_guards();
                }
                Err(err) => {
                    self.guards_writable = false;
                    self.status.reason = Some(err);
                }
            },
        }
    }

    /// Moves the unreadable value `text` of `key` to a quarantine key (bounded, see
    /// [`store::set_aside`]) and says so in the status. Fails, touching nothing more, when it
    /// cannot be set aside; goes to memory when it was set aside but cannot be removed.
    fn set_aside(
        &mut self,
        key: &str,
        suffix: &str,
        text: &str,
        why: Error,
        now: Millis,
    ) -> Result<()> {
        let qkey = store::set_aside(self.store.as_mut(), &self.namespace, suffix, text, now)?;
        self.status.quarantined.push(qkey);
        if self.status.quarantined.len() > store::MAX_QUARANTINED {
            self.status.quarantined.remove(0);
        }
        self.status.reason = Some(why);
        if let Err(err) = self.store.remove(key) {
            self.go_memory(Some(err));
        }
        Ok(())
    }

    fn persist_guards(&mut self) {
        if !self.persistent || !self.guards_writable {
            return;
        }
        self.guards.fit();
        let text = self.guards.encode();
        self.guards_unsaved = true;
        match self.store.set(&store::privacy_key(&self.namespace), &text) {
            Ok(()) => {
                self.guards_raw = Some(text);
                self.guards_unsaved = false;
            }
            // Written again on the next call, once there is room.
            Err(e) if e.code == Code::StorageQuota => self.status.reason = Some(e),
            Err(e) => self.go_memory(Some(e)),
        }
    }

    fn apply_sensitive(&mut self) {
        let mut all = self.base_sensitive.clone();
        for ns in &self.guards.sensitive {
            if !all.contains(ns) {
                all.push(ns.clone());
            }
        }
        if self.settings.sensitive != all {
            self.purge_due = true;
        }
        self.settings.sensitive = all;
    }

    /// Forgets at once every interest in a sensitive namespace, and every product whose ID
    /// names a sensitive topic: run whenever this tab learns of a namespace made sensitive
    /// (here or in another tab), or reads a profile that a tab not yet aware of it wrote.
    fn purge_sensitive(&mut self, now: Millis) {
        self.purge_due = false;
        let s = &self.settings;
        let doomed: Vec<Change> = (self.profile.interests.keys())
            .filter(|t| s.is_sensitive(t))
            .map(|t| Change::Forget(t.clone()))
            .chain(
                (self.profile.items.keys())
                    .filter(|i| s.names_sensitive(i))
                    .map(|i| Change::ForgetItem(i.clone())),
            )
            .collect();
        if !doomed.is_empty() {
            for change in doomed {
                self.change(change, now);
            }
            self.forget_answers(now);
            self.persist(now);
        }
    }

    /// The shopper took something out of the profile: no answer remembered from before is
    /// given again (each tab learns it from the stored privacy record).
    fn forget_answers(&mut self, now: Millis) {
        if !self.guards.answers.is_empty() {
            self.guards.forget_answers(now);
            self.persist_guards();
        }
    }

    fn next_entry_id(&mut self) -> u64 {
        self.entries = self.entries.wrapping_add(1);
        (u64::from(self.writer) << 32) | u64::from(self.entries)
    }

    /// Sets the privacy options (see [`PrivacySettings`]).
    pub fn set_privacy(&mut self, privacy: PrivacySettings, now: Millis) -> Result<()> {
        privacy.validate()?;
        self.privacy = privacy;
        self.sync(now);
        self.guards.prune(now, &self.privacy);
        Ok(())
    }

    /// The privacy options in force.
    pub fn privacy(&self) -> &PrivacySettings {
        &self.privacy
    }

    /// The body a report of `decision` carries: the offer ID, or with noised reports an ID
    /// drawn by randomized response over the whole catalog (drawn once, here, so that
    /// sending it twice says nothing more).
    pub fn report_body(
        &self,
        catalog: &Catalog,
        decision: &Decision,
        rng: &mut dyn Random,
    ) -> String {
        match self.privacy.mode {
            ReportMode::Noised => {
                let i = privacy::noised_report(
                    decision.offer,
                    catalog.len(),
                    self.privacy.epsilon_per_report,
                    rng,
                );
                catalog.offer(i).id.clone()
            }
            _ => decision.offer_id.clone(),
        }
    }

    /// A report of `body` to `url` is about to be sent: spends its ε (noised reports) and
    /// writes it to the ledger. `None` when the budget is spent: then nothing may be sent.
    pub fn log_report(&mut self, body: &str, url: &str, now: Millis) -> Option<LedgerEntry> {
        self.sync(now);
        let (mechanism, epsilon) = match self.privacy.mode {
            ReportMode::Exact => {
                // Tabs that answered at once from the same remaining bits each spent them:
                // what the window holds goes, in the order of the spends, and no more.
                let p = &self.privacy;
                let spend = self
                    .answered
                    .iter()
                    .find(|(o, _)| o == body)
                    .map(|&(_, s)| s);
                if spend.is_some_and(|s| !self.guards.bits.holds(s, p.bits_per_window, now, p)) {
                    return None;
                }
                (Mechanism::Exact, None)
            }
            ReportMode::Noised => {
                let e = self.privacy.epsilon_per_report;
                let id = self.next_entry_id();
                if !self.guards.spent.try_spend(id, e, now, &self.privacy) {
                    return None;
                }
                (Mechanism::Noised, Some(e))
            }
            // The ε was spent when the offer was drawn; the report only repeats it.
            ReportMode::PrivateChoice => (Mechanism::PrivateChoice, Some(0.0)),
        };
        let id = self.next_entry_id();
        let entry = LedgerEntry::new(id, now, url, body, mechanism, epsilon);
        self.guards.log(entry.clone());
        self.persist_guards();
        if mechanism == Mechanism::Noised && !self.guards_durable() {
            // Its ε could not be stored: the next page would not count it. Not sent.
            self.guards.ledger.retain(|l| l.id != id);
            return None;
        }
        Some(entry)
    }

    /// Whether what the safeguards spent is stored for the next page to see (or there is no
    /// storage: then the profile lives in this page only too).
    fn guards_durable(&self) -> bool {
        !self.persistent || (self.guards_writable && !self.guards_unsaved)
    }

    /// Adds a namespace to the shopper's own sensitive list: from now on its tags are never
    /// recorded, and the interests already recorded in it are forgotten at once.
    pub fn add_sensitive(&mut self, namespace: &str, now: Millis) -> Result<bool> {
        let ns = safeguard::check_sensitive(namespace)?;
        self.sync(now);
        let added = !self.settings.sensitive.contains(&ns);
        if added {
            if self.guards.sensitive.len() >= safeguard::MAX_SHOPPER_SENSITIVE {
                return Err(Error::at_field(
                    Code::OptionsInvalid,
                    "sensitive",
                    format!(
                        "at most {} namespaces can be added",
                        safeguard::MAX_SHOPPER_SENSITIVE
                    ),
                ));
            }
            self.guards.sensitive.push(ns.clone());
            self.guards.sensitive_t = now.max(self.guards.sensitive_t + 1);
            self.apply_sensitive();
            self.persist_guards();
        }
        self.purge_sensitive(now);
        Ok(added)
    }

    /// Removes a namespace the shopper added (the defaults and the site's stay). Whether it
    /// was there.
    pub fn remove_sensitive(&mut self, namespace: &str, now: Millis) -> bool {
        let ns = namespace.trim().to_ascii_lowercase();
        self.sync(now);
        let before = self.guards.sensitive.len();
        self.guards.sensitive.retain(|n| *n != ns);
        if self.guards.sensitive.len() == before {
            return false;
        }
        self.guards.sensitive_t = now.max(self.guards.sensitive_t + 1);
        self.apply_sensitive();
        self.persist_guards();
        true
    }

    /// Distinct catalogs personalized in the window ending at `now` (the catalog guard's count).
    pub fn catalogs_this_week(&self, now: Millis) -> usize {
        self.guards
            .catalogs
            .iter()
            .filter(|c| self.privacy.in_window(c.t, now))
            .count()
    }

    /// The privacy safeguards as the shopper may see them.
    pub fn privacy_view(&mut self, now: Millis) -> PrivacyView {
        self.sync(now);
        let p = &self.privacy;
        let g = &self.guards;
        let budgeted = p.mode != ReportMode::Exact;
        let exact = !budgeted;
        PrivacyView {
            mode: match p.mode {
                ReportMode::Exact => Mechanism::Exact,
                ReportMode::Noised => Mechanism::Noised,
                ReportMode::PrivateChoice => Mechanism::PrivateChoice,
            }
            .as_str(),
            epsilon: budgeted.then_some(p.epsilon_per_report),
            budget_per_week: budgeted.then_some(p.budget_per_window),
            window_days: p.window_ms as f64 / 86_400_000.0,
            spent: budgeted.then(|| g.spent.spent_at(now, p)),
            remaining: budgeted.then(|| g.spent.remaining(now, p)),
            frees_at: if budgeted {
                g.spent.frees_at(now, p)
            } else {
                None
            },
            min_offers: p.min_offers,
            catalogs_per_week: p.catalogs_per_window,
            catalogs_this_week: self.catalogs_this_week(now),
            bits_per_week: exact.then_some(p.bits_per_window),
            bits_spent: exact.then(|| g.bits.spent_at(now, p)),
            bits_remaining: exact.then(|| (p.bits_per_window - g.bits.spent_at(now, p)).max(0.0)),
            bits_free_at: if exact { g.bits.frees_at(now, p) } else { None },
            guard: self.status.guard.map(|x| x.code().as_str()),
            sensitive_defaults: crate::profile::DEFAULT_SENSITIVE
                .iter()
                .map(|s| s.to_string())
                .collect(),
            sensitive_site: self
                .base_sensitive
                .iter()
                .filter(|s| !crate::profile::DEFAULT_SENSITIVE.contains(&s.as_str()))
                .cloned()
                .collect(),
            sensitive_shopper: g.sensitive.clone(),
            ledger: g
                .ledger
                .iter()
                .rev()
                .map(|l| LedgerView {
                    time: l.t,
                    endpoint: l.url.clone(),
                    body: l.body.clone(),
                    mechanism: l.m.as_str(),
                    epsilon: l.e,
                })
                .collect(),
        }
    }

    /// Applies a change made here and keeps it until storage is seen to include it.
    fn change(&mut self, change: Change, now: Millis) -> bool {
        if !apply(&mut self.profile, &change, now, &self.settings) {
            return false;
        }
        self.seq += 1;
        self.last_stamp = self.profile.mark_written(self.writer, self.seq, now);
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
        self.unsaved = true;
        for _ in 0..8 {
            match self.store.set(&self.key, &text) {
                Ok(()) => {
                    self.unsaved = !whole;
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
        // Exact reports: what a question's answer may say is counted in bits, and a question
        // asked again in the window gets the same answer, which says nothing new.
        let question = (self.privacy.mode == ReportMode::Exact).then(|| Question::of(catalog, req));
        // An answer given on an earlier day is asked afresh while the window's bits allow it
        // (a fresh answer costs its bits as a new question does); otherwise, and whenever the
        // fresh answer cannot be personal, the remembered one is given again.
        let mut stale = None;
        if let Some((q, (answered, spend, decisions))) =
            question.and_then(|q| self.remembered(catalog, req, q).map(|d| (q, d)))
        {
            if !self.refresh_due(q, answered, now) {
                self.status.guard = None;
                self.note_answered(&decisions, spend);
                return self.shown(catalog, decisions, note, now);
            }
            stale = Some((spend, decisions));
        }
        // Exact reports, paused (the shopper's choice) or nothing known yet: the profile-free
        // choice, which costs nothing and writes nothing. (That a profile is empty or paused
        // is the one thing this lets a site tell; PRIVACY.md.)
        let free = question.is_some() && !self.personal();
        let guard = if free {
            None
        } else {
            self.guard(catalog, req, question)
        };
        if let (Some(_), Some((spend, decisions))) = (guard, stale) {
            self.status.guard = None;
            self.note_answered(&decisions, spend);
            return self.shown(catalog, decisions, note, now);
        }
        self.status.guard = guard;
        let decisions = if free || (guard.is_some() && question.is_some()) {
            // Not personal, and nothing of the shopper's decides it (not even caps or
            // dismissals, which follow from what the profile chose): free to report.
            rank::choose(
                catalog,
                &Profile::new(),
                &self.settings,
                &self.scoring,
                req,
                rng,
            )
        } else if guard.is_some() {
            // Not personal: only what the shopper was shown and dismissed still counts (caps).
            let blank = Profile {
                offers: self.profile.offers.clone(),
                ..Profile::new()
            };
            rank::choose(catalog, &blank, &self.settings, &self.scoring, req, rng)
        } else if self.privacy.mode == ReportMode::PrivateChoice && self.personal() {
            rank::choose_private(
                catalog,
                &self.profile,
                &self.settings,
                &self.scoring,
                req,
                self.privacy.epsilon_per_report,
                rng,
            )
        } else {
            rank::choose(
                catalog,
                &self.profile,
                &self.settings,
                &self.scoring,
                req,
                rng,
            )
        };
        let mut spend = 0;
        if let (Some(q), None, false) = (question, guard, free) {
            spend = self.bits_spend.unwrap_or(0);
            self.guards.remember(Answer {
                q: q.key,
                t: now,
                a: decisions
                    .iter()
                    .map(|d| (d.offer_id.clone(), d.reason.as_str().to_string()))
                    .collect(),
                s: spend,
            });
            self.persist_guards();
        }
        self.note_answered(&decisions, spend);
        self.shown(catalog, decisions, note, now)
    }

    /// Keeps which bits spend paid for each offer of the latest answer (`spend` 0: none, a
    /// decision that says nothing of the profile), for its report.
    fn note_answered(&mut self, decisions: &[Decision], spend: u64) {
        for d in decisions {
            self.answered.retain(|(o, _)| *o != d.offer_id);
            if spend != 0 {
                self.answered.push((d.offer_id.clone(), spend));
            }
        }
        if self.answered.len() > MAX_ANSWERED {
            let drop = self.answered.len() - MAX_ANSWERED;
            self.answered.drain(..drop);
        }
    }

    /// Whether a report of `body` carries a personal answer whose bits spend is checked
    /// against the other tabs' spends before it leaves ([`Engine::log_report`]): the page
    /// first waits [`REPORT_SETTLE_MS`] for their writes to reach this tab.
    pub fn report_needs_settle(&self, body: &str) -> bool {
        self.privacy.mode == ReportMode::Exact && self.answered.iter().any(|(o, _)| o == body)
    }

    /// Whether the remembered answer to `q`, given at `answered`, dates from an earlier day and
    /// the window's bits still pay for a fresh one (then the question is answered again, with
    /// today's profile).
    fn refresh_due(&self, q: Question, answered: Millis, now: Millis) -> bool {
        let p = &self.privacy;
        answered.div_euclid(DAY) < now.div_euclid(DAY)
            && self
                .guards
                .bits
                .fits_within(q.bits(), p.bits_per_window, now, p)
    }

    /// The answer already given to question `q` in the window, if every offer of it is still
    /// in the catalog. Not while paused, nor when the shopper dismissed one of its offers:
    /// their choice acts at once (and the site sees the slot turn to the non-personal choice).
    /// Returns when it was given, with its decisions.
    fn remembered(
        &self,
        catalog: &Catalog,
        req: &Request,
        q: Question,
    ) -> Option<(Millis, u64, Vec<Decision>)> {
        let answer = self.guards.answer(q.key, req.now, &self.privacy)?;
        if self.profile.paused {
            return None;
        }
        let mut picks = Vec::with_capacity(answer.a.len());
        for (id, reason) in &answer.a {
            let dismissed = self
                .profile
                .offers
                .get(id)
                .and_then(|o| o.dismissed)
                .is_some_and(|d| req.now - d < self.scoring.dismiss_suppression_ms);
            if dismissed {
                return None;
            }
            picks.push((catalog.find(id)?, Reason::parse(reason)?));
        }
        let decisions = rank::decisions_for(
            catalog,
            &self.profile,
            &self.settings,
            &self.scoring,
            req,
            &picks,
        );
        Some((answer.t, answer.s, decisions))
    }

    /// Keeps what was chosen for feedback and, unless `note` is false, counts it as shown.
    fn shown(
        &mut self,
        catalog: &Catalog,
        decisions: Vec<Decision>,
        note: bool,
        now: Millis,
    ) -> Vec<Decision> {
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

    fn personal(&self) -> bool {
        !self.profile.paused && !self.profile.is_empty()
    }

    /// Whether a guard keeps this decision from being personal (it registers the catalog,
    /// with private choice spends the ε, and with exact reports the question's bits, when
    /// none does). With exact reports this never looks at the profile: whether a decision is
    /// personal must not say anything about it beyond whether the profile is empty or paused.
    fn guard(
        &mut self,
        catalog: &Catalog,
        req: &Request,
        question: Option<Question>,
    ) -> Option<Guard> {
        if question.is_none() && !self.personal() {
            return None;
        }
        let now = req.now;
        let p = self.privacy.clone();
        if catalog.len() < p.min_offers {
            return Some(Guard::CatalogTooSmall);
        }
        let before = self.guards.catalogs.len();
        let admitted = self.guards.admit_catalog(catalog.content_hash(), now, &p);
        let mut changed = self.guards.catalogs.len() != before;
        let mut guard = (!admitted).then_some(Guard::TooManyCatalogs);
        if guard.is_none() && p.mode == ReportMode::PrivateChoice {
            let slots = req.count.max(1).min(catalog.len()) as f64;
            let id = self.next_entry_id();
            if self
                .guards
                .spent
                .try_spend(id, p.epsilon_per_report * slots, now, &p)
            {
                changed = true;
            } else {
                guard = Some(Guard::BudgetSpent);
            }
        }
        self.bits_spend = None;
        if let (None, Some(q)) = (guard, question) {
            let bits = q.bits();
            if bits > 0.0 {
                let id = self.next_entry_id();
                self.bits_spend = Some(id);
                if self
                    .guards
                    .bits
                    .try_spend_within(id, bits, p.bits_per_window, now, &p)
                {
                    changed = true;
                } else {
                    guard = Some(Guard::BitsSpent);
                }
            }
        }
        if changed {
            self.persist_guards();
            // A spend the stored record does not hold would be free again on the next page:
            // nothing personal leaves until it can be stored.
            if guard.is_none() && !self.guards_durable() {
                guard = Some(Guard::Unrecorded);
            }
        }
        guard
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

    /// The explanation of a decision made with `catalog`, in the shopper's words (products and
    /// tags named by the catalog's labels, [`Catalog::label`]).
    pub fn explain(&self, catalog: &Catalog, decision: &Decision) -> String {
        rank::explain(decision, &self.profile, catalog)
    }

    /// Forgets one interest at once. Returns whether it was there.
    pub fn forget(&mut self, tag: &str, now: Millis) -> bool {
        self.sync(now);
        let removed = self.change(Change::Forget(tag.to_string()), now);
        if removed {
            self.forget_answers(now);
            self.persist(now);
        }
        removed
    }

    /// Forgets one item at once. Returns whether it was there.
    pub fn forget_item(&mut self, item: &str, now: Millis) -> bool {
        self.sync(now);
        let removed = self.change(Change::ForgetItem(item.to_string()), now);
        if removed {
            self.forget_answers(now);
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
        self.unsaved = false;
        self.last_raw = None;
        self.status.stored_bytes = 0;
        self.status.quarantined.clear();
        self.status.guard = None;
        self.guards = SafeguardState::new();
        self.guards_raw = None;
        self.apply_sensitive();
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
        self.sync(now);
        p.prune(now, &self.settings);
        // What the sensitive list keeps out is kept out of an import too.
        p.interests
            .retain(|tag, _| !self.settings.is_sensitive(tag));
        p.items
            .retain(|item, _| !self.settings.names_sensitive(item));
        p.recent.retain(|item| !self.settings.names_sensitive(item));
        // An import replaces everything this tab has seen, other tabs' changes included: they
        // stay marked as included, so that those tabs do not apply them again on top of it
        // (an export carries no writers of its own). What they change later is added to it.
        p.applied = std::mem::take(&mut self.profile.applied);
        self.pending.clear();
        self.seq += 1;
        self.last_stamp = p.mark_written(self.writer, self.seq, now);
        self.profile = p;
        self.forget_answers(now);
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

    /// The privacy record as it is now (what [`Engine::privacy_view`] shows).
    pub fn privacy_record(&self) -> &SafeguardState {
        &self.guards
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

/// One report in the ledger, as the shopper sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LedgerView {
    /// When it was sent, ms since the epoch.
    pub time: Millis,
    /// Where.
    pub endpoint: String,
    /// The whole body, exactly as sent.
    pub body: String,
    /// `exact`, `noised` or `private-choice`.
    pub mechanism: &'static str,
    /// ε spent (none for an exact report).
    pub epsilon: Option<f64>,
}

/// The privacy safeguards as the shopper sees them.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PrivacyView {
    /// `exact`, `noised` or `private-choice`: what the site receives.
    pub mode: &'static str,
    /// ε per report (or per privately chosen slot); none in exact mode.
    pub epsilon: Option<f64>,
    /// ε per window; none in exact mode.
    pub budget_per_week: Option<f64>,
    /// The window, in days.
    pub window_days: f64,
    /// ε spent in the window.
    pub spent: Option<f64>,
    /// ε left in the window.
    pub remaining: Option<f64>,
    /// When the oldest spend leaves the window.
    pub frees_at: Option<Millis>,
    /// Catalogs with fewer offers are not personalized.
    pub min_offers: usize,
    /// Distinct catalogs personalized per window, at most.
    pub catalogs_per_week: usize,
    /// Distinct catalogs personalized in the window so far.
    pub catalogs_this_week: usize,
    /// Exact reports: the most bits the window's answers may say; none in the other modes.
    pub bits_per_week: Option<f64>,
    /// Bits spent in the window.
    pub bits_spent: Option<f64>,
    /// Bits left in the window.
    pub bits_remaining: Option<f64>,
    /// When the oldest spend of bits leaves the window.
    pub bits_free_at: Option<Millis>,
    /// Code of the guard that kept the latest decision from being personal, if any.
    pub guard: Option<&'static str>,
    /// The default sensitive namespaces.
    pub sensitive_defaults: Vec<String>,
    /// The site's own.
    pub sensitive_site: Vec<String>,
    /// The shopper's own.
    pub sensitive_shopper: Vec<String>,
    /// Reports sent, latest first.
    pub ledger: Vec<LedgerView>,
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
    pub events: SortedMap<&'static str, u32>,
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
        crate::sort::sort_by(&mut interests, |a, b| {
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
        crate::sort::sort_by(&mut items, |a, b| {
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

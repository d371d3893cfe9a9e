//! The shopper's interest profile: events in, decayed weights out.
//!
//! Each event adds its kind's weight to every tag it carries; weights decay
//! exponentially with a half-life, so last month's browsing counts half as much as
//! today's (with the default 60-day half-life, after two months). Items keep their own
//! history so that "buy again" and "just bought" can be scored, and offers keep their
//! impressions and dismissals for caps. The profile is bounded: a fixed number of
//! interests, items and offers, least-weighted first out, and at most
//! [`MAX_STORED_BYTES`] when stored.
//!
//! ```
//! use pocketrank::profile::{Event, EventKind, Profile, Settings};
//! let settings = Settings::default();
//! let mut profile = Profile::new();
//! let event = Event::new(EventKind::View, ["category:running", "brand:acme"]).with_item("sku-1");
//! profile.record(&event, 0, &settings).unwrap();
//! assert_eq!(profile.interest_weight("category:running", 0, &settings), 1.0);
//! // After one half-life the weight has halved.
//! let later = settings.half_life_ms;
//! assert_eq!(profile.interest_weight("category:running", later, &settings), 0.5);
//! ```

use crate::map::SortedMap;

use serde::{Deserialize, Serialize};

use crate::catalog::{check_label, MAX_ID_LEN, MAX_WINDOW_CAP};
use crate::error::{Code, Error, Result};
use crate::Millis;

/// The stored profile's schema version written by this code.
pub const PROFILE_SCHEMA: u32 = 1;
/// Most interests kept; the least weighted go first.
pub const MAX_INTERESTS: usize = 128;
/// Most items kept in the history; the least weighted go first.
pub const MAX_ITEMS: usize = 128;
/// Most items in the shopper's recent items ([`Profile::recent`]).
pub const MAX_RECENT: usize = 16;
/// Most offers whose impressions and dismissals are kept.
pub const MAX_OFFERS_SEEN: usize = 64;
/// Most tags on one event.
pub const MAX_EVENT_TAGS: usize = 32;
/// Longest search text, in bytes.
pub const MAX_SEARCH_LEN: usize = 256;
/// Most words of a search turned into `search:<word>` tags.
pub const MAX_SEARCH_WORDS: usize = 8;
/// Largest weight a stored interest or item may have (events add at most 100 each, and decay).
pub const MAX_WEIGHT: f64 = 1e9;
/// Largest stored profile, in bytes of JSON.
pub const MAX_STORED_BYTES: usize = 16 * 1024;

const HOUR: Millis = 3_600_000;
const DAY: Millis = 24 * HOUR;
/// Impressions older than this are only counted in the lifetime total.
pub const IMPRESSION_WINDOW_MS: Millis = 7 * DAY;

/// What the shopper did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventKind {
    /// Looked at a product or category page.
    View,
    /// Put an item in the cart.
    Cart,
    /// Bought an item.
    Purchase,
    /// Searched (the words become `search:<word>` tags).
    Search,
    /// Clicked an offer.
    Click,
    /// Dismissed an offer ("not interested").
    Dismiss,
}

impl EventKind {
    /// Every kind, in the order of the per-kind counters.
    pub const ALL: [EventKind; 6] = [
        EventKind::View,
        EventKind::Cart,
        EventKind::Purchase,
        EventKind::Search,
        EventKind::Click,
        EventKind::Dismiss,
    ];

    /// The name used in events and in the profile view.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::View => "view",
            EventKind::Cart => "cart",
            EventKind::Purchase => "purchase",
            EventKind::Search => "search",
            EventKind::Click => "click",
            EventKind::Dismiss => "dismiss",
        }
    }

    /// Parses a kind name.
    pub fn parse(s: &str) -> Result<EventKind> {
        EventKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                Error::at_field(
                    Code::EventUnknownKind,
                    "kind",
                    format!("{s:?} is not one of view, cart, purchase, search, click, dismiss"),
                )
            })
    }

    fn slot(self) -> usize {
        self as usize
    }
}

/// Something the shopper did, as the page reports it.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
pub struct Event {
    /// `view`, `cart`, `purchase`, `search`, `click` or `dismiss`.
    pub kind: String,
    /// What the event is about, for example `category:running`.
    #[serde(default)]
    pub tags: Vec<String>,
    /// The item (SKU) concerned, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<String>,
    /// The offer concerned (`click`, `dismiss`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offer: Option<String>,
    /// The search text (`search`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terms: Option<String>,
}

impl Event {
    /// An event of `kind` with `tags`.
    pub fn new<I, S>(kind: EventKind, tags: I) -> Event
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Event {
            kind: kind.as_str().to_string(),
            tags: tags.into_iter().map(Into::into).collect(),
            ..Event::default()
        }
    }

    /// The same event about `item`.
    pub fn with_item(mut self, item: impl Into<String>) -> Event {
        self.item = Some(item.into());
        self
    }

    /// The same event about `offer`.
    pub fn with_offer(mut self, offer: impl Into<String>) -> Event {
        self.offer = Some(offer.into());
        self
    }

    /// The same event with search text.
    pub fn with_terms(mut self, terms: impl Into<String>) -> Event {
        self.terms = Some(terms.into());
        self
    }

    /// Checks the event and returns its kind and every tag it teaches (given tags, then
    /// search words as `search:<word>`), without duplicates.
    pub fn validate(&self) -> Result<(EventKind, Vec<String>)> {
        let kind = EventKind::parse(&self.kind)?;
        if self.tags.len() > MAX_EVENT_TAGS {
            return Err(Error::at_field(
                Code::EventTooLong,
                "tags",
                format!("{} tags; the limit is {MAX_EVENT_TAGS}", self.tags.len()),
            ));
        }
        let mut tags: Vec<String> = Vec::with_capacity(self.tags.len() + 2);
        for t in &self.tags {
            check_event_label(t, "tags")?;
            if !tags.contains(t) {
                tags.push(t.clone());
            }
        }
        if let Some(item) = &self.item {
            check_event_label(item, "item")?;
        }
        if let Some(offer) = &self.offer {
            check_event_label(offer, "offer")?;
        }
        if let Some(terms) = &self.terms {
            if terms.len() > MAX_SEARCH_LEN {
                return Err(Error::at_field(
                    Code::EventTooLong,
                    "terms",
                    format!("{} bytes; the limit is {MAX_SEARCH_LEN}", terms.len()),
                ));
            }
            let words = terms
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| w.chars().count() >= 2)
                .map(|w| format!("search:{}", w.to_lowercase()))
                .take(MAX_SEARCH_WORDS);
            for w in words {
                if w.len() <= MAX_ID_LEN && !tags.contains(&w) {
                    tags.push(w);
                }
            }
        }
        if matches!(kind, EventKind::Click | EventKind::Dismiss) && self.offer.is_none() {
            return Err(Error::at_field(
                Code::EventInvalid,
                "offer",
                format!("a {} event names the offer it is about", kind.as_str()),
            ));
        }
        if tags.is_empty() && !matches!(kind, EventKind::Click | EventKind::Dismiss) {
            return Err(Error::at_field(
                Code::EventEmptyTags,
                "tags",
                "an event needs at least one tag (or, for a search, a word of two letters or more)",
            ));
        }
        if tags.len() > MAX_EVENT_TAGS {
            tags.truncate(MAX_EVENT_TAGS);
        }
        Ok((kind, tags))
    }
}

fn check_event_label(s: &str, field: &str) -> Result<()> {
    check_label(s).map_err(|reason| {
        let code = if s.len() > MAX_ID_LEN {
            Code::EventTooLong
        } else {
            Code::EventInvalidTag
        };
        Error::at_field(code, field, reason)
    })
}

/// How events are weighted and forgotten. The defaults are documented in the README.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Time for an interest's weight to halve.
    pub half_life_ms: Millis,
    /// An interest or item not seen for this long is dropped.
    pub retention_ms: Millis,
    /// Weight each event kind adds to its tags: view, cart, purchase, search, click, dismiss.
    pub kind_weights: [f64; 6],
    /// Sensitive tag namespaces: an event with a tag `ns:…` (or the tag `ns`) for one of
    /// these teaches nothing about that tag, nor about its item. Lowercase.
    pub sensitive: Vec<String>,
}

/// Tag namespaces never recorded by default: health, religion, sexuality, politics,
/// financial distress and children's data. A site adds its own with the `sensitive` option.
pub const DEFAULT_SENSITIVE: &[&str] = &[
    "health",
    "medical",
    "pharmacy",
    "religion",
    "sexuality",
    "sexual-orientation",
    "politics",
    "political",
    "financial-distress",
    "debt",
    "child-data",
    "age",
];

impl Default for Settings {
    fn default() -> Self {
        Settings {
            half_life_ms: 60 * DAY,
            retention_ms: 180 * DAY,
            kind_weights: [1.0, 3.0, 5.0, 1.5, 2.0, -3.0],
            sensitive: DEFAULT_SENSITIVE.iter().map(|s| s.to_string()).collect(),
        }
    }
}

/// Words that name a sensitive topic wherever they appear in a tag or a search (health,
/// religion, sexuality, politics, financial distress), as [`Settings::names_sensitive`]
/// matches them. Sorted, lowercase (a test checks).
/// Any list misses something: it keeps the obvious out of the profile, and the weekly bound
/// on what reports say (`PRIVACY.md`) holds for what it misses.
pub const SENSITIVE_WORDS: &[&str] = &[
    "abortion",
    "adhd",
    "aids",
    "alcoholism",
    "alzheimer",
    "alzheimers",
    "anorexia",
    "antidepressant",
    "antidepressants",
    "antipsychotic",
    "anxiety",
    "apnea",
    "arthritis",
    "asthma",
    "atheist",
    "autism",
    "autistic",
    "bailiff",
    "bankrupt",
    "bankruptcies",
    "bankruptcy",
    "bdsm",
    "bible",
    "biden",
    "bipolar",
    "bisexual",
    "buddhist",
    "bulimia",
    "cancer",
    "catholic",
    "celiac",
    "chemo",
    "chemotherapy",
    "chlamydia",
    "christian",
    "church",
    "coeliac",
    "colostomy",
    "condom",
    "condoms",
    "contraception",
    "contraceptive",
    "crohn",
    "crohns",
    "debt",
    "debts",
    "dementia",
    "democrat",
    "depressed",
    "depression",
    "diabetes",
    "diabetic",
    "dialysis",
    "dildo",
    "disability",
    "disabled",
    "dyslexia",
    "ebt",
    "election",
    "epilepsy",
    "epipen",
    "erectile",
    "erotic",
    "eviction",
    "fertility",
    "fetish",
    "fluoxetine",
    "foodbank",
    "foreclosure",
    "gay",
    "gonorrhea",
    "gonorrhoea",
    "haemorrhoid",
    "halal",
    "hemorrhoid",
    "hepatitis",
    "herpes",
    "hijab",
    "hindu",
    "hiv",
    "homosexual",
    "hospice",
    "impotence",
    "impotent",
    "incontinence",
    "inhaler",
    "insolvency",
    "insulin",
    "intersex",
    "islam",
    "islamic",
    "ivf",
    "jew",
    "jewish",
    "judaism",
    "koran",
    "kosher",
    "lesbian",
    "lgbt",
    "lgbtq",
    "maga",
    "mastectomy",
    "menopause",
    "metformin",
    "methadone",
    "miscarriage",
    "mormon",
    "mosque",
    "muslim",
    "naloxone",
    "narcan",
    "nonbinary",
    "ocd",
    "oncology",
    "opioid",
    "ostomy",
    "overdraft",
    "ovulation",
    "ozempic",
    "parkinson",
    "parkinsons",
    "pawn",
    "payday",
    "pharmacy",
    "porn",
    "pregnancy",
    "pregnant",
    "prenatal",
    "prescription",
    "prozac",
    "psoriasis",
    "psychiatric",
    "ptsd",
    "queer",
    "quran",
    "rehab",
    "repossession",
    "republican",
    "rosary",
    "schizophrenia",
    "seizure",
    "sertraline",
    "sex",
    "sexual",
    "sikh",
    "std",
    "suboxone",
    "suicide",
    "synagogue",
    "syphilis",
    "therapy",
    "torah",
    "transgender",
    "transsexual",
    "trump",
    "tumor",
    "tumour",
    "unemployed",
    "unemployment",
    "viagra",
    "vibrator",
    "wegovy",
    "welfare",
    "wheelchair",
    "xanax",
    "zoloft",
];

impl Settings {
    /// Whether `tag` is sensitive: in a sensitive namespace (case-insensitive), or naming a
    /// sensitive topic anywhere (see [`Settings::names_sensitive`]).
    pub fn is_sensitive(&self, tag: &str) -> bool {
        let namespace = tag.split(':').next().unwrap_or(tag);
        self.sensitive
            .iter()
            .any(|s| s.eq_ignore_ascii_case(namespace))
            || self.names_sensitive(tag)
    }

    /// Whether any word of `text` (a tag, an item ID, a whole search) names a sensitive
    /// topic: a word of [`SENSITIVE_WORDS`] or one the site or the shopper added to the
    /// sensitive list (`category:pregnancy`, `search:diabetic`, `sku-insulin-pen`). Words are
    /// compared case-insensitively, apostrophes dropped ("Qur'an"), and a plural's `s` or `es`
    /// taken off ("diabetics", "churches").
    pub fn names_sensitive(&self, text: &str) -> bool {
        let listed = |w: &str| {
            SENSITIVE_WORDS.binary_search(&w).is_ok()
                || self.sensitive.iter().any(|s| s.eq_ignore_ascii_case(w))
        };
        let folded: String = text
            .chars()
            .filter(|c| !matches!(c, '\'' | '\u{2019}'))
            .flat_map(char::to_lowercase)
            .collect();
        folded
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .any(|w| {
                listed(w)
                    || w.strip_suffix('s')
                        .is_some_and(|b| !b.is_empty() && listed(b))
                    || w.strip_suffix("es")
                        .is_some_and(|b| !b.is_empty() && listed(b))
            })
    }
}

impl Settings {
    /// Checks ranges (positive half-life and retention, finite weights).
    pub fn validate(&self) -> Result<()> {
        if self.half_life_ms < 60_000 || self.half_life_ms > 3650 * DAY {
            return Err(Error::at_field(
                Code::OptionsInvalid,
                "halfLifeDays",
                "must be from one minute to ten years",
            ));
        }
        if self.retention_ms < HOUR || self.retention_ms > 3650 * DAY {
            return Err(Error::at_field(
                Code::OptionsInvalid,
                "retentionDays",
                "must be from one hour to ten years",
            ));
        }
        if self
            .kind_weights
            .iter()
            .any(|w| !w.is_finite() || w.abs() > 100.0)
        {
            return Err(Error::at_field(
                Code::OptionsInvalid,
                "weights",
                "must be finite numbers in [-100, 100]",
            ));
        }
        Ok(())
    }

    /// `weight` as of `then`, decayed to `now`.
    pub fn decay(&self, weight: f64, then: Millis, now: Millis) -> f64 {
        let dt = (now - then).max(0) as f64;
        weight * (-dt / self.half_life_ms as f64).exp2()
    }
}

/// Stored weights are rounded to four decimals so that what is kept is what is written.
fn quantize(w: f64) -> f64 {
    (w * 1e4).round() / 1e4
}

/// What the shopper has shown interest in, under one tag.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Interest {
    /// Weight as of `updated`.
    pub weight: f64,
    /// When `weight` was last set.
    pub updated: Millis,
    /// First event under this tag.
    pub first_seen: Millis,
    /// Latest event under this tag.
    pub last_seen: Millis,
    /// Events behind it, per kind (view, cart, purchase, search, click, dismiss).
    pub counts: [u32; 6],
}

/// The shopper's history with one item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemHistory {
    /// Weight as of `updated`.
    pub weight: f64,
    /// When `weight` was last set.
    pub updated: Millis,
    /// Latest event about the item.
    pub last_seen: Millis,
    /// Latest purchase of the item.
    pub last_purchase: Option<Millis>,
    /// Views, carts, purchases.
    pub counts: [u32; 3],
}

/// One offer as the shopper has met it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct OfferHistory {
    /// Recent impression times (within [`IMPRESSION_WINDOW_MS`], at most [`MAX_WINDOW_CAP`]).
    pub recent: Vec<Millis>,
    /// Impressions ever.
    pub total: u32,
    /// Clicks ever.
    pub clicks: u32,
    /// Latest dismissal.
    pub dismissed: Option<Millis>,
}

impl OfferHistory {
    /// Impressions at or after `since`.
    pub fn shown_since(&self, since: Millis) -> u32 {
        self.recent.iter().filter(|&&t| t >= since).count() as u32
    }

    /// Latest impression.
    pub fn last_shown(&self) -> Option<Millis> {
        self.recent.last().copied()
    }
}

/// The whole profile. Plain data: no clock, no storage.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Profile {
    /// Interests by tag.
    pub interests: SortedMap<String, Interest>,
    /// Item history by item ID.
    pub items: SortedMap<String, ItemHistory>,
    /// Offer history by offer ID.
    pub offers: SortedMap<String, OfferHistory>,
    /// The shopper's latest items (viewed, put in the cart or bought), oldest first, each
    /// once, at most [`MAX_RECENT`]: the order of [`ItemHistory::last_seen`], which holds their
    /// times, with ties kept in the order the events came. Every one is also in `items`
    /// (where "your data" shows it); forgetting an item forgets it here too.
    pub recent: Vec<String>,
    /// Personalization paused by the shopper: nothing is recorded, only the fallback is shown.
    pub paused: bool,
    /// For merging the writes of several tabs: per writer (tab), the sequence number of its
    /// last change included here, and the order of that change (a time in ms that never goes
    /// backward within a profile, see [`Profile::mark_written`]). Change it only through
    /// [`Profile::mark_written`], which keeps it within [`MAX_WRITERS`].
    pub applied: SortedMap<u32, (u64, Millis)>,
}

/// Most writers remembered in [`Profile::applied`]; the least recent go first. Every page
/// load is a new writer, so this bound is reached after a few page loads and then holds on
/// every write.
pub const MAX_WRITERS: usize = 16;

impl Profile {
    /// An empty profile.
    pub fn new() -> Profile {
        Profile::default()
    }

    /// True when nothing is known about the shopper's interests or items.
    pub fn is_empty(&self) -> bool {
        self.interests.is_empty() && self.items.is_empty()
    }

    /// Records one event at `now`. A refused event changes nothing. Returns `false`
    /// (and records nothing) while paused.
    pub fn record(&mut self, event: &Event, now: Millis, settings: &Settings) -> Result<bool> {
        let (kind, mut tags) = event.validate()?;
        if self.paused {
            return Ok(false);
        }
        // A sensitive tag is never recorded, and neither is the item of an event that has one
        // (its ID would say the same thing).
        let before = tags.len();
        tags.retain(|t| !settings.is_sensitive(t));
        // The whole search counts, not only the words kept as tags; and an item whose ID
        // names a sensitive topic says as much as such a tag.
        let touched_sensitive = tags.len() != before
            || event
                .terms
                .as_deref()
                .is_some_and(|t| settings.names_sensitive(t))
            || event
                .item
                .as_deref()
                .is_some_and(|i| settings.names_sensitive(i));
        if touched_sensitive {
            // One sensitive word makes the whole search sensitive ("for my diabetic son").
            tags.retain(|t| !(event.terms.is_some() && t.starts_with("search:")));
        }
        if touched_sensitive && tags.is_empty() && event.offer.is_none() {
            return Ok(false);
        }
        let add = settings.kind_weights[kind.slot()];
        for tag in tags {
            let entry = self.interests.entry(tag).or_insert(Interest {
                weight: 0.0,
                updated: now,
                first_seen: now,
                last_seen: now,
                counts: [0; 6],
            });
            entry.weight = quantize(
                (settings.decay(entry.weight, entry.updated, now) + add).clamp(0.0, MAX_WEIGHT),
            );
            entry.updated = now.max(entry.updated);
            entry.last_seen = now.max(entry.last_seen);
            entry.counts[kind.slot()] = entry.counts[kind.slot()].saturating_add(1);
        }
        if let Some(item) = event.item.as_ref().filter(|_| !touched_sensitive) {
            if matches!(
                kind,
                EventKind::View | EventKind::Cart | EventKind::Purchase
            ) {
                let h = self.items.entry(item.clone()).or_insert(ItemHistory {
                    weight: 0.0,
                    updated: now,
                    last_seen: now,
                    last_purchase: None,
                    counts: [0; 3],
                });
                h.weight = quantize(
                    (settings.decay(h.weight, h.updated, now) + add.max(0.0)).min(MAX_WEIGHT),
                );
                h.updated = now.max(h.updated);
                h.last_seen = now.max(h.last_seen);
                h.counts[kind.slot()] = h.counts[kind.slot()].saturating_add(1);
                if kind == EventKind::Purchase {
                    h.last_purchase = Some(now.max(h.last_purchase.unwrap_or(now)));
                }
                self.note_recent(item);
            }
        }
        if let Some(offer) = &event.offer {
            let h = self.offers.entry(offer.clone()).or_default();
            match kind {
                EventKind::Click => h.clicks = h.clicks.saturating_add(1),
                EventKind::Dismiss => h.dismissed = Some(now.max(h.dismissed.unwrap_or(now))),
                _ => {}
            }
        }
        self.prune(now, settings);
        Ok(true)
    }

    /// Moves `item` (already in `items`) to its place among the recent items: after every
    /// item seen at or before its `last_seen` (a change applied late, from another tab, lands
    /// where its time says), then keeps the newest [`MAX_RECENT`].
    fn note_recent(&mut self, item: &str) {
        self.recent.retain(|r| r != item);
        let seen = |r: &String| self.items.get(r).map_or(Millis::MIN, |h| h.last_seen);
        let t = self.items.get(item).map_or(Millis::MIN, |h| h.last_seen);
        let at = self
            .recent
            .iter()
            .rposition(|r| seen(r) <= t)
            .map_or(0, |k| k + 1);
        self.recent.insert(at, item.to_string());
        let extra = self.recent.len().saturating_sub(MAX_RECENT);
        self.recent.drain(..extra);
    }

    /// Keeps in `recent` only items still in `items`, within [`MAX_RECENT`].
    fn bound_recent(&mut self) {
        let items = &self.items;
        self.recent.retain(|r| items.contains_key(r));
        let extra = self.recent.len().saturating_sub(MAX_RECENT);
        self.recent.drain(..extra);
    }

    /// Notes that `offer` was shown at `now` (for caps). Nothing is noted while paused.
    pub fn note_impression(&mut self, offer: &str, now: Millis, settings: &Settings) {
        if self.paused {
            return;
        }
        let h = self.offers.entry(offer.to_string()).or_default();
        h.recent.push(now);
        crate::sort::sort_by(&mut h.recent, Ord::cmp);
        h.total = h.total.saturating_add(1);
        self.prune(now, settings);
    }

    /// The weight of `tag` at `now` (0 when unknown).
    pub fn interest_weight(&self, tag: &str, now: Millis, settings: &Settings) -> f64 {
        self.interests
            .get(tag)
            .map_or(0.0, |i| settings.decay(i.weight, i.updated, now))
    }

    /// The weight of `item` at `now` (0 when unknown).
    pub fn item_weight(&self, item: &str, now: Millis, settings: &Settings) -> f64 {
        self.items
            .get(item)
            .map_or(0.0, |i| settings.decay(i.weight, i.updated, now))
    }

    /// Forgets one interest. Returns whether it was there.
    pub fn forget(&mut self, tag: &str) -> bool {
        self.interests.remove(tag).is_some()
    }

    /// Forgets one item. Returns whether it was there.
    pub fn forget_item(&mut self, item: &str) -> bool {
        self.recent.retain(|r| r != item);
        self.items.remove(item).is_some()
    }

    /// Notes that `writer`'s change `seq` is included, made at `now`; returns the order
    /// stamp it was given. The stamp never goes backward within a profile (a device clock
    /// set back still orders this change last), so the writer just noted is never the one
    /// evicted to keep [`MAX_WRITERS`]: the least recent others go first.
    pub fn mark_written(&mut self, writer: u32, seq: u64, now: Millis) -> Millis {
        let latest = self.applied.values().map(|&(_, t)| t).max();
        let stamp = latest.map_or(now, |l| now.max(l.saturating_add(1)));
        self.applied.insert(writer, (seq, stamp));
        self.bound_writers();
        stamp
    }

    /// Keeps the [`MAX_WRITERS`] most recent writers (by order stamp, then writer ID).
    fn bound_writers(&mut self) {
        while self.applied.len() > MAX_WRITERS {
            let oldest = self
                .applied
                .iter()
                .min_by_key(|(w, (_, t))| (*t, **w))
                .map(|(w, _)| *w);
            if let Some(w) = oldest {
                self.applied.remove(&w);
            }
        }
    }

    /// Drops what retention or the bounds say must go: interests and items not seen within
    /// the retention period, impressions outside the cap window, then the least-weighted
    /// entries beyond each count bound. Every stored form is written after it, so what is
    /// written is always within the bounds that [`Profile::decode`] checks.
    pub fn prune(&mut self, now: Millis, settings: &Settings) {
        self.bound_writers();
        let horizon = now - settings.retention_ms;
        self.interests
            .retain(|_, i| i.last_seen >= horizon && i.weight > 0.0);
        self.items.retain(|_, i| i.last_seen >= horizon);
        self.bound_recent();
        let window = now - IMPRESSION_WINDOW_MS;
        let suppress = now - settings.retention_ms;
        self.offers.retain(|_, o| {
            o.recent.retain(|&t| t >= window);
            let keep_from = o.recent.len().saturating_sub(MAX_WINDOW_CAP as usize);
            o.recent.drain(..keep_from);
            !o.recent.is_empty()
                || o.dismissed.is_some_and(|d| d >= suppress)
                || o.total > 0
                || o.clicks > 0
        });
        evict_lightest(
            &mut self.interests,
            MAX_INTERESTS,
            |_, i| settings.decay(i.weight, i.updated, now),
            |i| i.last_seen,
        );
        self.evict_items(MAX_ITEMS, now, settings);
        evict_lightest(
            &mut self.offers,
            MAX_OFFERS_SEEN,
            |_, o| o.last_shown().max(o.dismissed).unwrap_or(Millis::MIN) as f64,
            |o| o.last_shown().max(o.dismissed).unwrap_or(Millis::MIN),
        );
    }

    /// Keeps the `keep` heaviest items; the recent items go last (they are at most
    /// [`MAX_RECENT`] of [`MAX_ITEMS`]), and leave `recent` with their item.
    fn evict_items(&mut self, keep: usize, now: Millis, settings: &Settings) {
        let recent = &self.recent;
        evict_lightest(
            &mut self.items,
            keep,
            |k, i| {
                if recent.contains(k) {
                    f64::INFINITY
                } else {
                    settings.decay(i.weight, i.updated, now)
                }
            },
            |i| i.last_seen,
        );
        self.bound_recent();
    }

    /// Evicts the least-weighted entries until the stored form fits in `max_bytes`.
    pub fn shrink_to(&mut self, max_bytes: usize, now: Millis, settings: &Settings) -> usize {
        self.shrink_and_encode(max_bytes, now, settings).len()
    }

    /// [`Profile::shrink_to`], returning the stored form it measured (so that it is not
    /// encoded twice).
    pub fn shrink_and_encode(
        &mut self,
        max_bytes: usize,
        now: Millis,
        settings: &Settings,
    ) -> String {
        self.prune(now, settings);
        loop {
            let text = self.encode();
            if text.len() <= max_bytes || self.is_trivial() {
                return text;
            }
            // Drop about a tenth of the heaviest-weighing collection, lightest entries first.
            let share = |n: usize| n - (n / 10).max(1).min(n);
            let (ni, nt, no) = (self.interests.len(), self.items.len(), self.offers.len());
            if ni >= nt && ni >= no {
                evict_lightest(
                    &mut self.interests,
                    share(ni),
                    |_, i| settings.decay(i.weight, i.updated, now),
                    |i| i.last_seen,
                );
            } else if nt >= no {
                self.evict_items(share(nt), now, settings);
            } else {
                evict_lightest(
                    &mut self.offers,
                    share(no),
                    |_, o| o.last_shown().max(o.dismissed).unwrap_or(Millis::MIN) as f64,
                    |o| o.last_shown().max(o.dismissed).unwrap_or(Millis::MIN),
                );
            }
        }
    }

    fn is_trivial(&self) -> bool {
        // `recent` is never alone: every recent item is in `items`.
        self.interests.is_empty() && self.items.is_empty() && self.offers.is_empty()
    }

    /// The compact stored form: JSON with a schema version.
    pub fn encode(&self) -> String {
        // Written by hand: this runs on every recorded event, and serde's general path was
        // most of the cost of a record (it cloned every key and grew its buffer piecemeal).
        let mut s: Vec<u8> = Vec::with_capacity(
            64 + self.interests.len() * 96 + self.items.len() * 80 + self.offers.len() * 64,
        );
        s.extend_from_slice(b"{\"v\":");
        push_int(&mut s, PROFILE_SCHEMA as i64);
        if !self.applied.is_empty() {
            s.extend_from_slice(b",\"w\":[");
            for (k, (&w, &(seq, t))) in self.applied.iter().enumerate() {
                s.extend_from_slice(if k > 0 { b",[" } else { b"[" });
                push_ints(&mut s, &[w as i64, seq as i64, t]);
                s.push(b']');
            }
            s.push(b']');
        }
        if self.paused {
            s.extend_from_slice(b",\"p\":true");
        }
        s.extend_from_slice(b",\"i\":[");
        for (k, (tag, i)) in self.interests.iter().enumerate() {
            s.extend_from_slice(if k > 0 { b",[" } else { b"[" });
            push_json_str(&mut s, tag);
            push_weight(&mut s, i.weight);
            s.push(b',');
            push_ints(&mut s, &[i.updated, i.first_seen, i.last_seen]);
            s.extend_from_slice(b",[");
            push_ints(&mut s, &i.counts.map(i64::from));
            s.extend_from_slice(b"]]");
        }
        s.extend_from_slice(b"],\"t\":[");
        for (k, (item, h)) in self.items.iter().enumerate() {
            s.extend_from_slice(if k > 0 { b",[" } else { b"[" });
            push_json_str(&mut s, item);
            push_weight(&mut s, h.weight);
            s.push(b',');
            push_ints(&mut s, &[h.updated, h.last_seen]);
            s.push(b',');
            push_opt(&mut s, h.last_purchase);
            s.extend_from_slice(b",[");
            push_ints(&mut s, &h.counts.map(i64::from));
            s.extend_from_slice(b"]]");
        }
        if !self.recent.is_empty() {
            s.extend_from_slice(b"],\"r\":[");
            for (k, item) in self.recent.iter().enumerate() {
                if k > 0 {
                    s.push(b',');
                }
                push_json_str(&mut s, item);
            }
        }
        s.extend_from_slice(b"],\"o\":[");
        for (k, (offer, o)) in self.offers.iter().enumerate() {
            s.extend_from_slice(if k > 0 { b",[" } else { b"[" });
            push_json_str(&mut s, offer);
            s.extend_from_slice(b",[");
            push_ints(&mut s, &o.recent);
            s.extend_from_slice(b"],");
            push_ints(&mut s, &[o.total as i64, o.clicks as i64]);
            s.push(b',');
            push_opt(&mut s, o.dismissed);
            s.push(b']');
        }
        s.extend_from_slice(b"]}");
        String::from_utf8(s).expect("the stored form is UTF-8")
    }

    /// Reads a stored or exported profile, migrating known older schema versions.
    /// Fails with `profile.newer_version` for a version this code does not know yet,
    /// and `profile.invalid` for anything unreadable.
    pub fn decode(text: &str) -> Result<Profile> {
        #[derive(Deserialize)]
        struct Version {
            v: serde_json::Value,
        }
        let version = serde_json::from_str::<Version>(text).map_err(|e| {
            Error::new(
                Code::ProfileInvalid,
                format!("the stored profile is not readable: {e}"),
            )
        })?;
        match version.v.as_u64() {
            Some(v) if v == PROFILE_SCHEMA as u64 => {}
            Some(v) if v > PROFILE_SCHEMA as u64 => {
                return Err(Error::new(
                    Code::ProfileNewerVersion,
                    format!(
                    "the profile has schema version {v}; this code knows up to {PROFILE_SCHEMA}"
                ),
                ))
            }
            _ => {
                return Err(Error::new(
                    Code::ProfileInvalid,
                    format!(
                        "the profile's schema version {} is not one this code knows",
                        version.v
                    ),
                ))
            }
        }
        let stored: Stored = serde_json::from_str(text).map_err(|e| {
            Error::new(
                Code::ProfileInvalid,
                format!("the stored profile is not readable: {e}"),
            )
        })?;
        stored.into_profile()
    }
}

fn evict_lightest<V>(
    map: &mut SortedMap<String, V>,
    keep: usize,
    weight: impl Fn(&String, &V) -> f64,
    recency: impl Fn(&V) -> Millis,
) {
    // What was touched by the latest change (the most recent time in the map) stays, so that
    // a new interest can always enter a full profile; it goes only when nothing else is left.
    let newest = map.values().map(&recency).max().unwrap_or(Millis::MIN);
    while map.len() > keep {
        // Lightest first; among equals, the oldest first; then by key, so that eviction is
        // deterministic. A linear scan: the maps hold at most a few hundred entries.
        let order = |a: &(&String, &V), b: &(&String, &V)| {
            weight(a.0, a.1)
                .total_cmp(&weight(b.0, b.1))
                .then(recency(a.1).cmp(&recency(b.1)))
                .then(a.0.cmp(b.0))
        };
        let victim = map
            .iter()
            .filter(|(_, v)| recency(v) < newest)
            .min_by(order)
            .or_else(|| map.iter().min_by(order))
            .map(|(k, _)| k.clone());
        match victim {
            Some(k) => map.remove(&k),
            None => break,
        };
    }
}

// ---------------------------------------------------------------------------------------
// Stored form, schema 1: short keys, tuples instead of objects.

/// An integer, without going through `core::fmt`.
fn push_int(s: &mut Vec<u8>, n: i64) {
    // itoa (already in the module for serde_json's integers) writes two digits per step; the
    // loop it replaced divided by ten per digit, which at opt-level "z" stays a division and
    // was 40% of a record's time (timestamps have 13 digits).
    s.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

fn push_ints(s: &mut Vec<u8>, ns: &[i64]) {
    for (k, &n) in ns.iter().enumerate() {
        if k > 0 {
            s.push(b',');
        }
        push_int(s, n);
    }
}

fn push_opt(s: &mut Vec<u8>, n: Option<i64>) {
    match n {
        Some(n) => push_int(s, n),
        None => s.extend_from_slice(b"null"),
    }
}

/// A JSON string: raw when nothing needs escaping.
fn push_json_str(s: &mut Vec<u8>, text: &str) {
    if text.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20) {
        s.extend_from_slice(
            serde_json::to_string(text)
                .unwrap_or_else(|_| "\"\"".into())
                .as_bytes(),
        );
    } else {
        s.push(b'"');
        s.extend_from_slice(text.as_bytes());
        s.push(b'"');
    }
}

/// `,weight`: weights are kept to four decimals, written exactly so (`5`, `0.5`, `3.1416`);
/// anything else (an imported value with more digits) in full.
fn push_weight(s: &mut Vec<u8>, w: f64) {
    let q = (w * 1e4).round();
    if w >= 0.0 && q < 1e15 && q / 1e4 == w {
        let n = q as i64;
        s.push(b',');
        push_int(s, n / 10_000);
        let mut frac = n % 10_000;
        if frac != 0 {
            let mut width = 4;
            while frac % 10 == 0 {
                frac /= 10;
                width -= 1;
            }
            s.push(b'.');
            let mut digits = Vec::with_capacity(4);
            push_int(&mut digits, frac);
            for _ in digits.len()..width {
                s.push(b'0');
            }
            s.extend_from_slice(&digits);
        }
    } else {
        s.push(b',');
        s.extend_from_slice(
            serde_json::to_string(&w)
                .unwrap_or_else(|_| "0".into())
                .as_bytes(),
        );
    }
}

/// An interest as stored: tag, weight, updated, first seen, last seen, counts.
type StoredInterest = (String, f64, Millis, Millis, Millis, [u32; 6]);
/// An item as stored: item, weight, updated, last seen, last purchase, counts.
type StoredItem = (String, f64, Millis, Millis, Option<Millis>, [u32; 3]);
/// An offer as stored: offer, recent impressions, total, clicks, dismissed.
type StoredOffer = (String, Vec<Millis>, u32, u32, Option<Millis>);

#[derive(Deserialize)]
struct Stored {
    #[allow(dead_code)]
    v: u32,
    /// [writer, sequence number, time] of the last change of each tab included.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    w: Vec<(u32, u64, Millis)>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    p: bool,
    /// [tag, weight, updated, first seen, last seen, counts]
    #[serde(default)]
    i: Vec<StoredInterest>,
    /// [item, weight, updated, last seen, last purchase, counts]
    #[serde(default)]
    t: Vec<StoredItem>,
    /// [offer, recent impressions, total, clicks, dismissed]
    #[serde(default)]
    o: Vec<StoredOffer>,
    /// The recent items, oldest first (absent before 0.2: then none).
    #[serde(default)]
    r: Vec<String>,
}

impl Stored {
    fn into_profile(self) -> Result<Profile> {
        let invalid = |what: String| {
            Error::new(
                Code::ProfileInvalid,
                format!("the stored profile is not readable: {what}"),
            )
        };
        let mut p = Profile {
            paused: self.p,
            ..Profile::default()
        };
        if self.i.len() > MAX_INTERESTS
            || self.t.len() > MAX_ITEMS
            || self.o.len() > MAX_OFFERS_SEEN
            || self.r.len() > MAX_RECENT
        {
            return Err(invalid("more entries than the profile's bounds".into()));
        }
        // The list of writers is bookkeeping, not the shopper's data: versions up to 0.1.0
        // wrote one writer more than the bound (the current writer was added after the
        // trim), so a longer list is read and trimmed, never refused.
        for (writer, seq, t) in self.w {
            p.applied.insert(writer, (seq, t));
        }
        p.bound_writers();
        for (tag, weight, updated, first_seen, last_seen, counts) in self.i {
            check_label(&tag).map_err(|r| invalid(format!("interest {r}")))?;
            if !(weight.is_finite() && (0.0..=MAX_WEIGHT).contains(&weight)) {
                return Err(invalid(format!("interest {tag:?} has weight {weight}")));
            }
            // Weights are kept to four decimals: what is read is what will be written.
            let weight = quantize(weight);
            let interest = Interest {
                weight,
                updated,
                first_seen,
                last_seen,
                counts,
            };
            if p.interests.insert(tag.clone(), interest).is_some() {
                return Err(invalid(format!("interest {tag:?} is listed twice")));
            }
        }
        for (item, weight, updated, last_seen, last_purchase, counts) in self.t {
            check_label(&item).map_err(|r| invalid(format!("item {r}")))?;
            if !(weight.is_finite() && (0.0..=MAX_WEIGHT).contains(&weight)) {
                return Err(invalid(format!("item {item:?} has weight {weight}")));
            }
            let weight = quantize(weight);
            let history = ItemHistory {
                weight,
                updated,
                last_seen,
                last_purchase,
                counts,
            };
            if p.items.insert(item.clone(), history).is_some() {
                return Err(invalid(format!("item {item:?} is listed twice")));
            }
        }
        for item in self.r {
            // A recent item is one of the items: anything else was not written by this code.
            if !p.items.contains_key(&item) || p.recent.contains(&item) {
                return Err(invalid(format!(
                    "recent item {item:?} is not an item of the profile, or is listed twice"
                )));
            }
            p.recent.push(item);
        }
        for (offer, mut recent, total, clicks, dismissed) in self.o {
            check_label(&offer).map_err(|r| invalid(format!("offer {r}")))?;
            if recent.len() > MAX_WINDOW_CAP as usize {
                return Err(invalid(format!("offer {offer:?} has too many impressions")));
            }
            crate::sort::sort_by(&mut recent, Ord::cmp);
            if p.offers
                .insert(
                    offer.clone(),
                    OfferHistory {
                        recent,
                        total,
                        clicks,
                        dismissed,
                    },
                )
                .is_some()
            {
                return Err(invalid(format!("offer {offer:?} is listed twice")));
            }
        }
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_terms_become_search_tags() {
        let e = Event::new(EventKind::Search, Vec::<String>::new())
            .with_terms("Trail Running shoes, a");
        let (_, tags) = e.validate().unwrap();
        assert_eq!(tags, ["search:trail", "search:running", "search:shoes"]);
    }

    #[test]
    fn decode_rejects_unknown_and_newer_schemas() {
        assert_eq!(
            Profile::decode(r#"{"v":0}"#).unwrap_err().code,
            Code::ProfileInvalid
        );
        assert_eq!(
            Profile::decode(r#"{"v":2}"#).unwrap_err().code,
            Code::ProfileNewerVersion
        );
        assert_eq!(Profile::decode("{").unwrap_err().code, Code::ProfileInvalid);
        assert!(Profile::decode(r#"{"v":1}"#).unwrap().is_empty());
    }
}

//! The offer catalog: its version-1 JSON format, validation and limits.
//!
//! A catalog is validated once and then kept in a columnar, interned form so that
//! ranking touches only numbers: every tag (and item) is an index into the catalog's
//! vocabulary, and each offer's tags are a slice of two flat arrays (tag index, weight).
//!
//! ```
//! use pocketrank::catalog::Catalog;
//! let catalog = Catalog::from_json(r#"{
//!   "version": 1, "id": "2026-11-29",
//!   "offers": [
//!     { "id": "RUN-10", "tags": { "category:running": 1.0, "brand:acme": 0.4 } },
//!     { "id": "GENERIC-1", "tags": { "all": 0.1 } }
//!   ],
//!   "fallback": "GENERIC-1"
//! }"#).unwrap();
//! assert_eq!(catalog.len(), 2);
//! assert_eq!(catalog.offer(catalog.fallback().unwrap()).id, "GENERIC-1");
//! ```
//!
//! A refused catalog is returned as an [`Error`] whose code says what kind of fault it
//! was and whose `offer` and `field` say where; nothing else changes.

use std::cell::Cell;
use std::collections::HashMap as StdHashMap;
use std::fmt;
use std::hash::BuildHasherDefault;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::error::{Code, Error, Result};
use crate::hash::Fx;
use crate::Millis;

pub mod binary;

/// A hash map with the crate's one hash ([`crate::hash::Fx`]).
pub(crate) type HashMap<K, V> = StdHashMap<K, V, BuildHasherDefault<Fx>>;

/// The catalog format version this library reads.
pub const CATALOG_VERSION: u64 = 1;
/// Largest catalog accepted, in bytes of JSON (or of the binary form).
pub const MAX_CATALOG_BYTES: usize = 32 * 1024 * 1024;
/// Most offers in one catalog.
pub const MAX_OFFERS: usize = 50_000;
/// Most tags on one offer.
pub const MAX_TAGS_PER_OFFER: usize = 32;
/// Most items (SKUs) on one offer.
pub const MAX_ITEMS_PER_OFFER: usize = 64;
/// Most related items on one offer (`related`: the items most often bought or viewed with
/// it, by the retailer's own aggregate data).
pub const MAX_RELATED_PER_OFFER: usize = 32;
/// Most tags in one offer's `requires`, and in its `excludes`.
pub const MAX_RULES_PER_OFFER: usize = 16;
/// Longest offer ID, tag or item, in bytes.
pub const MAX_ID_LEN: usize = 128;
/// Largest per-hour, per-day or per-week cap (the profile keeps this many recent impressions).
pub const MAX_WINDOW_CAP: u32 = 20;
/// Largest lifetime (`total`) cap.
pub const MAX_TOTAL_CAP: u32 = 10_000;
/// Largest `creative` value, in bytes of JSON.
pub const MAX_CREATIVE_BYTES: usize = 64 * 1024;

/// How often an offer may be shown to one shopper.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Caps {
    /// At most this many impressions in any rolling hour.
    pub per_hour: Option<u32>,
    /// At most this many impressions in any rolling 24 hours.
    pub per_day: Option<u32>,
    /// At most this many impressions in any rolling 7 days.
    pub per_week: Option<u32>,
    /// At most this many impressions ever.
    pub total: Option<u32>,
}

/// One offer, as validated. Tags and items live in the catalog's columns.
#[derive(Debug, Clone, PartialEq)]
pub struct Offer {
    /// The offer's ID: the only thing a report ever carries.
    pub id: String,
    /// The server's additive prior, in [-1, 1].
    pub boost: f32,
    /// The server's popularity prior, in [0, 1].
    pub popularity: f32,
    /// Frequency caps.
    pub caps: Caps,
    /// Not shown before this time (ms since the Unix epoch).
    pub start: Option<Millis>,
    /// Not shown from this time on (ms since the Unix epoch).
    pub end: Option<Millis>,
    /// A "buy again" offer may be shown for items the shopper has just bought.
    pub buy_again: bool,
    /// The creative as raw JSON text; opaque to the ranker, rendered as text by pages.
    pub creative: Option<String>,
    pub(crate) tags: (u32, u32),
    pub(crate) items: (u32, u32),
    pub(crate) related: (u32, u32),
    pub(crate) requires: Vec<u32>,
    pub(crate) excludes: Vec<u32>,
}

/// A validated catalog, ready for ranking.
#[derive(Debug, Clone, PartialEq)]
pub struct Catalog {
    // The columns the ranking loop reads are boxed slices: indexing them is plain code even at
    // opt-level "z", where indexing a `Vec` stays a function call.
    id: String,
    offers: Box<[Offer]>,
    offer_index: HashMap<String, u32>,
    fallback: Option<usize>,
    tag_names: Vec<String>,
    tag_index: HashMap<String, u32>,
    tag_ids: Box<[u32]>,
    tag_weights: Box<[f32]>,
    item_names: Vec<String>,
    item_index: HashMap<String, u32>,
    item_ids: Box<[u32]>,
    related_ids: Box<[u32]>,
    related_weights: Box<[f32]>,
    /// Item → the offers that have it among their items: `offers_by_item[starts[i]..starts[i+1]]`
    /// (derived at assembly, for reading relations from a recent item's side).
    item_offer_starts: Box<[u32]>,
    item_offers: Box<[u32]>,
    /// Item → the offers that list it as related, with the similarity:
    /// `listing_offers[listing_starts[i]..listing_starts[i+1]]` (derived at assembly, so that
    /// scoring visits only the offers related to the shopper's recent items).
    listing_starts: Box<[u32]>,
    listing_offers: Box<[(u32, f32)]>,
    hash: u64,
    /// The label of each tag and item of the catalog that some offer's creative names in its
    /// `labels`, built on first use by [`Catalog::label`].
    labels: LabelIndex,
}

/// The catalog-wide labels, computed from the creatives on first use: a cache, so it takes no
/// part in equality (two catalogs with the same offers are equal whether or not it was built).
#[derive(Clone, Default)]
struct LabelIndex(std::sync::OnceLock<Labels>);

/// Labels by tag ID and by item ID (parallel to `tag_names` and `item_names`).
#[derive(Clone, Default)]
struct Labels {
    tags: Vec<Option<String>>,
    items: Vec<Option<String>>,
}

impl PartialEq for LabelIndex {
    fn eq(&self, _: &LabelIndex) -> bool {
        true
    }
}

impl fmt::Debug for LabelIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LabelIndex")
    }
}

/// The `labels` of a creative's JSON text (`"labels": { "run-05": "Trail Runner 2",
/// "category:running": "running" }`): the shopper's words for item IDs and tags. Empty when
/// the creative has none or is not an object with them.
pub fn creative_labels(creative: &str) -> crate::map::SortedMap<String, String> {
    #[derive(Deserialize)]
    struct Labels {
        #[serde(default)]
        labels: crate::map::SortedMap<String, String>,
    }
    if !creative.contains("\"labels\"") {
        return Default::default();
    }
    serde_json::from_str::<Labels>(creative)
        .map(|c| c.labels)
        .unwrap_or_default()
}

/// See [`Catalog::columns`].
pub(crate) struct Columns<'a> {
    pub offers: &'a [Offer],
    /// Per offer `o`, `tag_ids[o.tags.0..o.tags.1]` (and the same range of `tag_weights`).
    pub tag_ids: &'a [u32],
    pub tag_weights: &'a [f32],
    /// Per offer `o`, `item_ids[o.items.0..o.items.1]`.
    pub item_ids: &'a [u32],
}

impl Catalog {
    /// Parses and validates a version-1 JSON catalog.
    pub fn from_json(text: &str) -> Result<Catalog> {
        if text.len() > MAX_CATALOG_BYTES {
            return Err(Error::new(
                Code::CatalogTooLarge,
                format!(
                    "the catalog is {} bytes; the limit is {MAX_CATALOG_BYTES}",
                    text.len()
                ),
            )
            .with_limit(MAX_CATALOG_BYTES as f64, text.len() as f64));
        }
        TRACE.with(|t| t.set(Trace::default()));
        let parsed: std::result::Result<RawCatalog, serde_json::Error> = serde_json::from_str(text);
        let trace = TRACE.with(|t| t.replace(Trace::default()));
        match parsed {
            Ok(raw) => raw.validate(),
            Err(e) => Err(explain_json_error(text, e, trace)),
        }
    }

    /// The catalog's own ID (for example a date), as published.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Number of offers.
    pub fn len(&self) -> usize {
        self.offers.len()
    }

    /// True when the catalog has no offers (never the case for a validated catalog).
    pub fn is_empty(&self) -> bool {
        self.offers.is_empty()
    }

    /// The shopper's words for an item ID or a tag, as "Why this offer?" names it: the label
    /// that offer `offer`'s own creative gives, else the first that any offer's creative gives
    /// (in catalog order) to one of the catalog's tags or items, else `None` (then the
    /// explanation describes it, never shows the key).
    pub fn label(&self, offer: usize, key: &str) -> Option<String> {
        if let Some(own) = self.offers.get(offer).and_then(|o| o.creative.as_deref()) {
            if let Some(l) = creative_labels(own).get(key) {
                return Some(l.clone());
            }
        }
        // Only the catalog's own tags and items can be looked up: they are what a decision's
        // terms name (an interest in a tag no offer has contributes nothing).
        let labels = self.labels.0.get_or_init(|| {
            let mut all = Labels {
                tags: vec![None; self.tag_names.len()],
                items: vec![None; self.item_names.len()],
            };
            for c in self.offers.iter().filter_map(|o| o.creative.as_deref()) {
                for (k, l) in creative_labels(c).iter() {
                    let slot = match (self.tag_index.get(k), self.item_index.get(k)) {
                        (Some(&t), _) => &mut all.tags[t as usize],
                        (None, Some(&i)) => &mut all.items[i as usize],
                        (None, None) => continue,
                    };
                    if slot.is_none() {
                        *slot = Some(l.clone());
                    }
                }
            }
            all
        });
        match (self.tag_index.get(key), self.item_index.get(key)) {
            (Some(&t), _) => labels.tags[t as usize].clone(),
            (None, Some(&i)) => labels.items[i as usize].clone(),
            (None, None) => None,
        }
    }

    /// The offer at `index`.
    #[inline]
    pub fn offer(&self, index: usize) -> &Offer {
        &self.offers[index]
    }

    /// All offers, in catalog order.
    pub fn offers(&self) -> &[Offer] {
        &self.offers
    }

    /// The index of the offer with this ID.
    pub fn find(&self, id: &str) -> Option<usize> {
        self.offer_index.get(id).map(|&i| i as usize)
    }

    /// The index of the fallback offer, if the catalog names one.
    pub fn fallback(&self) -> Option<usize> {
        self.fallback
    }

    /// A 64-bit hash of the catalog's content (offers, tags, weights, rules), the same
    /// whichever form it was read from.
    pub fn content_hash(&self) -> u64 {
        self.hash
    }

    /// An offer's tags with their weights.
    pub fn tags_of(&self, offer: usize) -> impl Iterator<Item = (&str, f32)> + '_ {
        let (a, b) = self.offers[offer].tags;
        (a as usize..b as usize).map(move |k| {
            (
                self.tag_names[self.tag_ids[k] as usize].as_str(),
                self.tag_weights[k],
            )
        })
    }

    /// An offer's items.
    pub fn items_of(&self, offer: usize) -> impl Iterator<Item = &str> + '_ {
        let (a, b) = self.offers[offer].items;
        self.item_ids[a as usize..b as usize]
            .iter()
            .map(move |&i| self.item_names[i as usize].as_str())
    }

    /// An offer's related items with their similarities, in the order published.
    pub fn related_of(&self, offer: usize) -> impl Iterator<Item = (&str, f32)> + '_ {
        let (ids, ws) = self.offer_related_slice(offer);
        ids.iter()
            .zip(ws)
            .map(move |(&i, &w)| (self.item_names[i as usize].as_str(), w))
    }

    /// An offer's `requires` tags.
    pub fn requires_of(&self, offer: usize) -> impl Iterator<Item = &str> + '_ {
        self.offers[offer]
            .requires
            .iter()
            .map(move |&i| self.tag_names[i as usize].as_str())
    }

    /// An offer's `excludes` tags.
    pub fn excludes_of(&self, offer: usize) -> impl Iterator<Item = &str> + '_ {
        self.offers[offer]
            .excludes
            .iter()
            .map(move |&i| self.tag_names[i as usize].as_str())
    }

    pub(crate) fn tag_count(&self) -> usize {
        self.tag_names.len()
    }
    pub(crate) fn tag_id(&self, tag: &str) -> Option<u32> {
        self.tag_index.get(tag).copied()
    }
    pub(crate) fn tag_name(&self, id: u32) -> &str {
        &self.tag_names[id as usize]
    }
    pub(crate) fn item_count(&self) -> usize {
        self.item_names.len()
    }
    pub(crate) fn item_id(&self, item: &str) -> Option<u32> {
        self.item_index.get(item).copied()
    }
    /// The columns the ranking's loop over offers reads, borrowed once per decision: indexed
    /// in place, they cost no call per offer even at opt-level "z" (an accessor does).
    #[inline]
    pub(crate) fn columns(&self) -> Columns<'_> {
        Columns {
            offers: &self.offers,
            tag_ids: &self.tag_ids,
            tag_weights: &self.tag_weights,
            item_ids: &self.item_ids,
        }
    }
    #[inline]
    pub(crate) fn offer_tag_slice(&self, offer: usize) -> (&[u32], &[f32]) {
        let (a, b) = self.offers[offer].tags;
        (
            &self.tag_ids[a as usize..b as usize],
            &self.tag_weights[a as usize..b as usize],
        )
    }
    #[inline]
    pub(crate) fn offer_item_slice(&self, offer: usize) -> &[u32] {
        let (a, b) = self.offers[offer].items;
        &self.item_ids[a as usize..b as usize]
    }
    /// An offer's related items (indices into the item vocabulary) and their similarities.
    #[inline]
    pub(crate) fn offer_related_slice(&self, offer: usize) -> (&[u32], &[f32]) {
        let (a, b) = self.offers[offer].related;
        (
            &self.related_ids[a as usize..b as usize],
            &self.related_weights[a as usize..b as usize],
        )
    }
    /// The offers that have `item` among their items (empty unless the catalog has relations).
    pub(crate) fn offers_with_item(&self, item: u32) -> &[u32] {
        match self.item_offer_starts.get(item as usize..item as usize + 2) {
            Some(&[a, b]) => &self.item_offers[a as usize..b as usize],
            _ => &[],
        }
    }
    /// The offers that list `item` as related, with the similarity (empty unless the catalog
    /// has relations).
    pub(crate) fn offers_listing(&self, item: u32) -> &[(u32, f32)] {
        match self.listing_starts.get(item as usize..item as usize + 2) {
            Some(&[a, b]) => &self.listing_offers[a as usize..b as usize],
            _ => &[],
        }
    }
    pub(crate) fn item_name(&self, id: u32) -> &str {
        &self.item_names[id as usize]
    }
    /// Whether any offer carries related items.
    pub fn has_relations(&self) -> bool {
        !self.related_ids.is_empty()
    }
}

// ---------------------------------------------------------------------------------------
// The intermediate form shared by every decoder: what the input said, not yet checked.

/// A catalog as read from some encoding, before validation. Every decoder (JSON, binary)
/// produces this, so that every form gets the same checks and the same errors.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct RawCatalog {
    /// Format version.
    pub version: Option<u64>,
    /// Catalog ID.
    #[serde(default)]
    pub id: Option<String>,
    /// Offers, in order.
    pub offers: RawOffers,
    /// ID of the fallback offer.
    #[serde(default)]
    pub fallback: Option<String>,
}

/// Offers as read; a newtype so that the JSON decoder can say which offer was malformed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawOffers(pub Vec<RawOffer>);

/// One offer as read.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawOffer {
    /// Offer ID.
    pub id: String,
    /// Tags with weights, in the order given.
    #[serde(default)]
    pub tags: TagWeights,
    /// Items (SKUs) the offer is about.
    #[serde(default)]
    pub items: Vec<String>,
    /// Related items with similarities in [0, 1], in the order given.
    #[serde(default)]
    pub related: TagWeights,
    /// Additive prior.
    #[serde(default)]
    pub boost: f64,
    /// Popularity prior.
    #[serde(default)]
    pub popularity: f64,
    /// Frequency caps.
    #[serde(default)]
    pub caps: RawCaps,
    /// RFC 3339 start.
    #[serde(default)]
    pub start: Option<String>,
    /// RFC 3339 end.
    #[serde(default)]
    pub end: Option<String>,
    /// Required tags.
    #[serde(default)]
    pub requires: Vec<String>,
    /// Excluding tags.
    #[serde(default)]
    pub excludes: Vec<String>,
    /// "Buy again" offer.
    #[serde(default)]
    pub buy_again: bool,
    /// Opaque creative.
    #[serde(default, deserialize_with = "creative_text")]
    pub creative: Option<String>,
}

/// Caps as read (numbers, checked to be whole and in range).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawCaps {
    /// Per rolling hour.
    pub per_hour: Option<f64>,
    /// Per rolling day.
    pub per_day: Option<f64>,
    /// Per rolling week.
    pub per_week: Option<f64>,
    /// Ever.
    pub total: Option<f64>,
}

/// A tag → weight object (or item → similarity), keeping its order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TagWeights(pub Vec<(String, f64)>);

fn creative_text<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<String>, D::Error> {
    let raw: Option<Box<RawValue>> = Option::deserialize(d)?;
    Ok(raw.map(|r| r.get().to_string()))
}

impl<'de> Deserialize<'de> for TagWeights {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = TagWeights;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of tag → weight")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<TagWeights, A::Error> {
                const KEEP: usize = if MAX_TAGS_PER_OFFER > MAX_RELATED_PER_OFFER {
                    MAX_TAGS_PER_OFFER
                } else {
                    MAX_RELATED_PER_OFFER
                };
                let mut out = Vec::with_capacity(map.size_hint().unwrap_or(8).min(KEEP + 1));
                while let Some((k, v)) = map.next_entry::<String, f64>()? {
                    out.push((k, v));
                    if out.len() > KEEP {
                        // Keep reading cheaply; validation reports the count.
                        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {
                            out.push((String::new(), 0.0));
                        }
                        break;
                    }
                }
                Ok(TagWeights(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// Where the JSON decoder was when it failed.
#[derive(Debug, Clone, Copy, Default)]
struct Trace {
    offer: Option<usize>,
    too_many: bool,
}

thread_local! {
    static TRACE: Cell<Trace> = const { Cell::new(Trace { offer: None, too_many: false }) };
}

impl<'de> Deserialize<'de> for RawOffers {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawOffers;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an array of offers")
            }
            fn visit_seq<A: SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<RawOffers, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(16).min(MAX_OFFERS));
                loop {
                    TRACE.with(|t| {
                        t.set(Trace {
                            offer: Some(out.len()),
                            too_many: false,
                        })
                    });
                    if out.len() == MAX_OFFERS {
                        if seq.next_element::<IgnoredAny>()?.is_some() {
                            TRACE.with(|t| {
                                t.set(Trace {
                                    offer: None,
                                    too_many: true,
                                })
                            });
                            return Err(de::Error::custom("too many offers"));
                        }
                        break;
                    }
                    match seq.next_element::<RawOffer>()? {
                        Some(o) => out.push(o),
                        None => break,
                    }
                }
                TRACE.with(|t| t.set(Trace::default()));
                Ok(RawOffers(out))
            }
        }
        d.deserialize_seq(V)
    }
}

fn explain_json_error(text: &str, e: serde_json::Error, trace: Trace) -> Error {
    use serde_json::error::Category;
    if trace.too_many {
        return Error::at_field(
            Code::CatalogTooManyOffers,
            "offers",
            format!("more than {MAX_OFFERS} offers"),
        );
    }
    match e.classify() {
        Category::Syntax | Category::Eof | Category::Io => {
            Error::new(Code::CatalogInvalidJson, format!("not valid JSON: {e}"))
        }
        Category::Data => {
            // Only on this error path: read the version first (a catalog of another
            // version may well have another shape), then find the field at fault.
            #[derive(Deserialize)]
            struct VersionOnly {
                version: Option<serde_json::Value>,
            }
            if let Ok(VersionOnly { version: Some(v) }) = serde_json::from_str::<VersionOnly>(text)
            {
                if v.as_u64() != Some(CATALOG_VERSION) {
                    return Error::at_field(
                        Code::CatalogUnsupportedVersion,
                        "version",
                        format!("version {v} is not supported; this library reads version {CATALOG_VERSION}"),
                    );
                }
            }
            if let Some(index) = trace.offer {
                let field = serde_json::from_str::<serde_json::Value>(text)
                    .ok()
                    .and_then(|v| v.get("offers")?.get(index).cloned())
                    .and_then(|offer| diagnose_offer(&offer));
                if let Some((field, reason)) = field {
                    return Error::at_offer(Code::CatalogInvalidField, index, &field, reason);
                }
                let mut err = Error::new(
                    Code::CatalogInvalidField,
                    format!("offers[{index}]: {}", without_position(&e)),
                );
                err.offer = Some(index);
                return err;
            }
            if let Some((field, reason)) = serde_json::from_str::<serde_json::Value>(text)
                .ok()
                .and_then(|v| diagnose_catalog(&v))
            {
                return Error::at_field(Code::CatalogInvalidField, field, reason);
            }
            let field = ["version", "id", "offers", "fallback"]
                .into_iter()
                .find(|f| e.to_string().contains(&format!("`{f}`")))
                .unwrap_or("catalog");
            Error::at_field(Code::CatalogInvalidField, field, without_position(&e))
        }
    }
}

/// serde's message without " at line L column C": the catalog may have come from an object
/// (`Catalog.from`), where a line and column mean nothing.
fn without_position(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

/// Names the first top-level field of a malformed catalog, in the format's own words.
fn diagnose_catalog(catalog: &serde_json::Value) -> Option<(&'static str, &'static str)> {
    let Some(obj) = catalog.as_object() else {
        return Some((
            "catalog",
            "a catalog must be an object { version: 1, offers: [...] }",
        ));
    };
    match obj.get("offers") {
        None => return Some(("offers", "missing: a catalog needs an array of offers")),
        Some(v) if !v.is_array() => return Some(("offers", "must be an array of offers")),
        _ => {}
    }
    for field in ["id", "fallback"] {
        if obj
            .get(field)
            .is_some_and(|v| !v.is_string() && !v.is_null())
        {
            return Some((field, "must be a string"));
        }
    }
    None
}

/// Names the first field of a malformed offer, with what it should have been.
fn diagnose_offer(offer: &serde_json::Value) -> Option<(String, String)> {
    use serde_json::Value;
    let obj = match offer.as_object() {
        Some(o) => o,
        None => return Some(("".into(), "an offer must be an object".into())),
    };
    if !obj.contains_key("id") {
        return Some(("id".into(), "missing".into()));
    }
    let is_str_list = |v: &Value| v.as_array().is_some_and(|a| a.iter().all(Value::is_string));
    for (field, v) in obj {
        let problem = match field.as_str() {
            "id" if !v.is_string() => Some("must be a string"),
            "tags" | "related"
                if !v
                    .as_object()
                    .is_some_and(|m| m.values().all(Value::is_number)) =>
            {
                Some(if field == "tags" {
                    "must be an object of tag → number"
                } else {
                    "must be an object of item → number"
                })
            }
            "items" | "requires" | "excludes" if !is_str_list(v) => {
                Some("must be an array of strings")
            }
            "boost" | "popularity" if !v.is_number() => Some("must be a number"),
            "start" | "end" if !(v.is_string() || v.is_null()) => {
                Some("must be an RFC 3339 string")
            }
            "buyAgain" if !v.is_boolean() => Some("must be true or false"),
            "caps" => {
                let ok = v.as_object().is_some_and(|m| {
                    m.iter().all(|(k, c)| {
                        !["perHour", "perDay", "perWeek", "total"].contains(&k.as_str())
                            || c.is_number()
                            || c.is_null()
                    })
                });
                (!ok).then_some("must be an object of numbers (perHour, perDay, perWeek, total)")
            }
            _ => None,
        };
        if let Some(p) = problem {
            return Some((field.clone(), p.to_string()));
        }
    }
    None
}

// ---------------------------------------------------------------------------------------
// Validation: one place, whatever the encoding.

fn check_id(s: &str) -> std::result::Result<(), String> {
    if s.is_empty() {
        return Err("must not be empty".into());
    }
    if s.len() > MAX_ID_LEN {
        return Err(format!(
            "is {} characters; the limit is {MAX_ID_LEN}",
            s.len()
        ));
    }
    let allowed = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-');
    if s.bytes().all(allowed) {
        return Ok(());
    }
    let c = s
        .chars()
        .find(|&c| !(c.is_ascii() && allowed(c as u8)))
        .unwrap_or('?');
    Err(format!("{c:?} is not allowed (only A-Z a-z 0-9 . _ : -)"))
}

/// Tags and items: 1–128 bytes, no control characters.
pub(crate) fn check_label(s: &str) -> std::result::Result<(), String> {
    if s.is_empty() {
        return Err("must not be empty".into());
    }
    if s.len() > MAX_ID_LEN {
        return Err(format!(
            "{:?}… is longer than {MAX_ID_LEN} bytes",
            &s[..s.floor_char_boundary_compat(24)]
        ));
    }
    // ASCII fast path; C1 control characters only occur in non-ASCII text.
    let control = if s.is_ascii() {
        s.bytes().any(|b| b < 0x20 || b == 0x7f)
    } else {
        s.chars().any(char::is_control)
    };
    if control {
        return Err(format!("{s:?} contains a control character"));
    }
    Ok(())
}

trait FloorBoundary {
    fn floor_char_boundary_compat(&self, i: usize) -> usize;
}
impl FloorBoundary for str {
    fn floor_char_boundary_compat(&self, mut i: usize) -> usize {
        i = i.min(self.len());
        while !self.is_char_boundary(i) {
            i -= 1;
        }
        i
    }
}

struct Interner {
    names: Vec<String>,
    index: HashMap<String, u32>,
}

impl Interner {
    fn new() -> Self {
        Interner {
            names: Vec::new(),
            index: HashMap::default(),
        }
    }
    fn intern(&mut self, s: String) -> u32 {
        if let Some(&i) = self.index.get(&s) {
            return i;
        }
        let i = self.names.len() as u32;
        self.index.insert(s.clone(), i);
        self.names.push(s);
        i
    }
}

fn check_cap(v: Option<f64>, max: u32, index: usize, field: &str) -> Result<Option<u32>> {
    match v {
        None => Ok(None),
        Some(c) if c.is_finite() && c >= 0.0 && c.fract() == 0.0 && c <= max as f64 => {
            Ok(Some(c as u32))
        }
        Some(c) => Err(Error::at_offer(
            Code::CatalogInvalidCap,
            index,
            field,
            format!("{c} is not a whole number from 0 to {max}"),
        )
        .with_limit(max, c)),
    }
}

impl RawCatalog {
    /// Checks everything and builds the ranking form. The same checks for every encoding.
    pub fn validate(self) -> Result<Catalog> {
        match self.version {
            None => {
                return Err(Error::at_field(
                    Code::CatalogInvalidField,
                    "version",
                    "missing",
                ))
            }
            Some(CATALOG_VERSION) => {}
            Some(v) => {
                return Err(Error::at_field(
                    Code::CatalogUnsupportedVersion,
                    "version",
                    format!(
                    "version {v} is not supported; this library reads version {CATALOG_VERSION}"
                ),
                ))
            }
        }
        let offers_in = self.offers.0;
        if offers_in.is_empty() {
            return Err(Error::at_field(
                Code::CatalogEmpty,
                "offers",
                "the catalog has no offers",
            ));
        }
        if offers_in.len() > MAX_OFFERS {
            return Err(Error::at_field(
                Code::CatalogTooManyOffers,
                "offers",
                format!("{} offers; the limit is {MAX_OFFERS}", offers_in.len()),
            )
            .with_limit(MAX_OFFERS as f64, offers_in.len() as f64));
        }
        let id = self.id.unwrap_or_default();
        if id.len() > MAX_ID_LEN {
            return Err(Error::at_field(
                Code::CatalogInvalidId,
                "id",
                format!("longer than {MAX_ID_LEN} bytes"),
            ));
        }
        let n = offers_in.len();
        let mut tags = Interner::new();
        let mut items = Interner::new();
        let mut offer_index = HashMap::with_capacity_and_hasher(n, Default::default());
        let mut offers = Vec::with_capacity(n);
        let mut tag_ids = Vec::with_capacity(n * 8);
        let mut tag_weights = Vec::with_capacity(n * 8);
        let mut item_ids = Vec::new();
        let mut related_ids = Vec::new();
        let mut related_weights = Vec::new();

        for (i, o) in offers_in.into_iter().enumerate() {
            check_id(&o.id).map_err(|r| Error::at_offer(Code::CatalogInvalidId, i, "id", r))?;
            if o.tags.0.len() > MAX_TAGS_PER_OFFER {
                return Err(Error::at_offer(
                    Code::CatalogTooManyTags,
                    i,
                    "tags",
                    format!("{} tags; the limit is {MAX_TAGS_PER_OFFER}", o.tags.0.len()),
                )
                .with_limit(MAX_TAGS_PER_OFFER as f64, o.tags.0.len() as f64));
            }
            if o.items.len() > MAX_ITEMS_PER_OFFER {
                return Err(Error::at_offer(
                    Code::CatalogTooManyTags,
                    i,
                    "items",
                    format!(
                        "{} items; the limit is {MAX_ITEMS_PER_OFFER}",
                        o.items.len()
                    ),
                )
                .with_limit(MAX_ITEMS_PER_OFFER as f64, o.items.len() as f64));
            }
            for (field, list) in [("requires", &o.requires), ("excludes", &o.excludes)] {
                if list.len() > MAX_RULES_PER_OFFER {
                    return Err(Error::at_offer(
                        Code::CatalogTooManyTags,
                        i,
                        field,
                        format!("{} tags; the limit is {MAX_RULES_PER_OFFER}", list.len()),
                    )
                    .with_limit(MAX_RULES_PER_OFFER as f64, list.len() as f64));
                }
                for t in list.iter() {
                    check_label(t)
                        .map_err(|r| Error::at_offer(Code::CatalogInvalidId, i, field, r))?;
                }
            }
            if !(o.boost.is_finite() && (-1.0..=1.0).contains(&o.boost)) {
                return Err(Error::at_offer(
                    Code::CatalogInvalidWeight,
                    i,
                    "boost",
                    format!("{} is outside [-1, 1]", o.boost),
                ));
            }
            if !(o.popularity.is_finite() && (0.0..=1.0).contains(&o.popularity)) {
                return Err(Error::at_offer(
                    Code::CatalogInvalidWeight,
                    i,
                    "popularity",
                    format!("{} is outside [0, 1]", o.popularity),
                ));
            }
            let start = o
                .start
                .as_deref()
                .map(parse_rfc3339)
                .transpose()
                .map_err(|r| Error::at_offer(Code::CatalogInvalidDate, i, "start", r))?;
            let end = o
                .end
                .as_deref()
                .map(parse_rfc3339)
                .transpose()
                .map_err(|r| Error::at_offer(Code::CatalogInvalidDate, i, "end", r))?;
            if let (Some(s), Some(e)) = (start, end) {
                if s > e {
                    return Err(Error::at_offer(
                        Code::CatalogInvalidWindow,
                        i,
                        "start",
                        "is after end",
                    ));
                }
            }
            let caps = Caps {
                per_hour: check_cap(o.caps.per_hour, MAX_WINDOW_CAP, i, "caps.perHour")?,
                per_day: check_cap(o.caps.per_day, MAX_WINDOW_CAP, i, "caps.perDay")?,
                per_week: check_cap(o.caps.per_week, MAX_WINDOW_CAP, i, "caps.perWeek")?,
                total: check_cap(o.caps.total, MAX_TOTAL_CAP, i, "caps.total")?,
            };
            if let Some(c) = &o.creative {
                if c.len() > MAX_CREATIVE_BYTES {
                    return Err(Error::at_offer(
                        Code::CatalogTooLarge,
                        i,
                        "creative",
                        format!("{} bytes; the limit is {MAX_CREATIVE_BYTES}", c.len()),
                    )
                    .with_limit(MAX_CREATIVE_BYTES as f64, c.len() as f64));
                }
            }
            if offer_index.insert(o.id.clone(), i as u32).is_some() {
                return Err(Error::at_offer(
                    Code::CatalogDuplicateId,
                    i,
                    "id",
                    format!("{:?} is already the ID of an earlier offer", o.id),
                ));
            }
            let t0 = tag_ids.len() as u32;
            for (k, (tag, w)) in o.tags.0.into_iter().enumerate() {
                check_label(&tag)
                    .map_err(|r| Error::at_offer(Code::CatalogInvalidId, i, "tags", r))?;
                if !(w.is_finite() && (0.0..=1.0).contains(&w)) {
                    return Err(Error::at_offer(
                        Code::CatalogInvalidWeight,
                        i,
                        "tags",
                        format!("the weight of {tag:?} is {w}; weights are in [0, 1]"),
                    ));
                }
                let id = tags.intern(tag);
                if tag_ids[t0 as usize..t0 as usize + k].contains(&id) {
                    return Err(Error::at_offer(
                        Code::CatalogInvalidField,
                        i,
                        "tags",
                        format!("{:?} is listed twice", tags.names[id as usize]),
                    ));
                }
                tag_ids.push(id);
                tag_weights.push(w as f32);
            }
            let t1 = tag_ids.len() as u32;
            let i0 = item_ids.len() as u32;
            for item in o.items {
                check_label(&item)
                    .map_err(|r| Error::at_offer(Code::CatalogInvalidId, i, "items", r))?;
                item_ids.push(items.intern(item));
            }
            let i1 = item_ids.len() as u32;
            if o.related.0.len() > MAX_RELATED_PER_OFFER {
                return Err(too_many_related(i, o.related.0.len()));
            }
            let r0 = related_ids.len();
            for (item, w) in o.related.0 {
                check_label(&item)
                    .map_err(|r| Error::at_offer(Code::CatalogInvalidId, i, "related", r))?;
                related_ids.push(items.intern(item));
                related_weights.push(w as f32);
            }
            check_related(i, &related_ids[r0..], &related_weights[r0..], &items.names)?;
            let r1 = related_ids.len() as u32;
            let requires = o.requires.into_iter().map(|t| tags.intern(t)).collect();
            let excludes = o.excludes.into_iter().map(|t| tags.intern(t)).collect();
            offers.push(Offer {
                id: o.id,
                boost: o.boost as f32,
                popularity: o.popularity as f32,
                caps,
                start,
                end,
                buy_again: o.buy_again,
                creative: o.creative,
                tags: (t0, t1),
                items: (i0, i1),
                related: (r0 as u32, r1),
                requires,
                excludes,
            });
        }
        let fallback = match self.fallback {
            None => None,
            Some(f) => match offer_index.get(&f) {
                Some(&i) => Some(i as usize),
                None => {
                    return Err(Error::at_field(
                        Code::CatalogUnknownFallback,
                        "fallback",
                        format!("{f:?} is not the ID of any offer in the catalog"),
                    ))
                }
            },
        };
        Ok(Catalog::assemble(
            id,
            offers,
            offer_index,
            fallback,
            (tags.names, tags.index, tag_ids, tag_weights),
            (items.names, items.index, item_ids),
            (related_ids, related_weights),
        ))
    }
}

fn too_many_related(offer: usize, n: usize) -> Error {
    Error::at_offer(
        Code::CatalogTooManyTags,
        offer,
        "related",
        format!("{n} related items; the limit is {MAX_RELATED_PER_OFFER}"),
    )
}

/// The rule for one offer's relations, whatever the encoding they were read from: at most
/// [`MAX_RELATED_PER_OFFER`], each item once, similarities finite and in [0, 1]. `ids` index
/// `item_names`, whose labels are already checked.
pub(crate) fn check_related<S: AsRef<str>>(
    offer: usize,
    ids: &[u32],
    weights: &[f32],
    item_names: &[S],
) -> Result<()> {
    if ids.len() > MAX_RELATED_PER_OFFER {
        return Err(too_many_related(offer, ids.len()));
    }
    for (k, (&id, &w)) in ids.iter().zip(weights).enumerate() {
        let name = item_names[id as usize].as_ref();
        if !(w.is_finite() && (0.0..=1.0).contains(&w)) {
            return Err(Error::at_offer(
                Code::CatalogInvalidWeight,
                offer,
                "related",
                format!("the similarity of {name:?} is {w}; similarities are in [0, 1]"),
            ));
        }
        if ids[..k].contains(&id) {
            return Err(Error::at_offer(
                Code::CatalogInvalidField,
                offer,
                "related",
                format!("{name:?} is listed twice"),
            ));
        }
    }
    Ok(())
}

/// Tag vocabulary, its index, and the flat (tag, weight) columns.
type TagColumns = (Vec<String>, HashMap<String, u32>, Vec<u32>, Vec<f32>);
/// Item vocabulary, its index, and the flat item column.
type ItemColumns = (Vec<String>, HashMap<String, u32>, Vec<u32>);
/// The flat (related item, similarity) columns.
type RelatedColumns = (Vec<u32>, Vec<f32>);

impl Catalog {
    /// Puts the validated parts together and computes the content hash, the same way for
    /// every decoder.
    fn assemble(
        id: String,
        offers: Vec<Offer>,
        offer_index: HashMap<String, u32>,
        fallback: Option<usize>,
        (tag_names, tag_index, tag_ids, tag_weights): TagColumns,
        (item_names, item_index, item_ids): ItemColumns,
        (related_ids, related_weights): RelatedColumns,
    ) -> Catalog {
        let mut c = Catalog {
            id,
            offers: offers.into_boxed_slice(),
            offer_index,
            fallback,
            tag_names,
            tag_index,
            tag_ids: tag_ids.into_boxed_slice(),
            tag_weights: tag_weights.into_boxed_slice(),
            item_names,
            item_index,
            item_ids: item_ids.into_boxed_slice(),
            related_ids: related_ids.into_boxed_slice(),
            related_weights: related_weights.into_boxed_slice(),
            item_offer_starts: Box::default(),
            item_offers: Box::default(),
            listing_starts: Box::default(),
            listing_offers: Box::default(),
            hash: 0,
            labels: LabelIndex::default(),
        };
        if c.has_relations() {
            c.index_item_offers();
        }
        c.hash = c.compute_hash();
        c
    }

    /// Builds the item → offers indexes (only catalogs with relations need them).
    fn index_item_offers(&mut self) {
        let ni = self.item_names.len();
        let mut starts = vec![0u32; ni + 1];
        for &it in &self.item_ids {
            starts[it as usize + 1] += 1;
        }
        for k in 0..ni {
            starts[k + 1] += starts[k];
        }
        let mut fill = starts.clone();
        let mut offers = vec![0u32; self.item_ids.len()];
        for (o, offer) in self.offers.iter().enumerate() {
            for &it in &self.item_ids[offer.items.0 as usize..offer.items.1 as usize] {
                offers[fill[it as usize] as usize] = o as u32;
                fill[it as usize] += 1;
            }
        }
        self.item_offer_starts = starts.into_boxed_slice();
        self.item_offers = offers.into_boxed_slice();

        let mut starts = vec![0u32; ni + 1];
        for &it in &self.related_ids {
            starts[it as usize + 1] += 1;
        }
        for k in 0..ni {
            starts[k + 1] += starts[k];
        }
        let mut fill = starts.clone();
        let mut listing = vec![(0u32, 0f32); self.related_ids.len()];
        for (o, offer) in self.offers.iter().enumerate() {
            let (a, b) = (offer.related.0 as usize, offer.related.1 as usize);
            for (&it, &w) in self.related_ids[a..b]
                .iter()
                .zip(&self.related_weights[a..b])
            {
                listing[fill[it as usize] as usize] = (o as u32, w);
                fill[it as usize] += 1;
            }
        }
        self.listing_starts = starts.into_boxed_slice();
        self.listing_offers = listing.into_boxed_slice();
    }

    /// A hash of everything that can change a decision or a creative: by content (tag and
    /// item names, not their positions in the vocabulary), so that the JSON and binary forms
    /// of one catalog hash alike.
    fn compute_hash(&self) -> u64 {
        use crate::hash::{checksum, mix};
        let tag_hash: Vec<u64> = self
            .tag_names
            .iter()
            .map(|t| checksum(t.as_bytes()))
            .collect();
        let item_hash: Vec<u64> = self
            .item_names
            .iter()
            .map(|t| checksum(t.as_bytes()))
            .collect();
        let mut h = mix(
            checksum(self.id.as_bytes()),
            self.fallback.map_or(u64::MAX, |f| f as u64),
        );
        for (i, o) in self.offers.iter().enumerate() {
            h = mix(h, checksum(o.id.as_bytes()));
            let (ids, ws) = self.offer_tag_slice(i);
            for (&t, &w) in ids.iter().zip(ws) {
                h = mix(mix(h, tag_hash[t as usize]), w.to_bits() as u64);
            }
            h = mix(h, 0xfe);
            for &it in self.offer_item_slice(i) {
                h = mix(h, item_hash[it as usize]);
            }
            let (rids, rws) = self.offer_related_slice(i);
            if !rids.is_empty() {
                // Only when present, so that a catalog without relations hashes as before.
                h = mix(h, 0xfb);
                for (&it, &w) in rids.iter().zip(rws) {
                    h = mix(mix(h, item_hash[it as usize]), w.to_bits() as u64);
                }
            }
            h = mix(h, 0xfd);
            for &t in &o.requires {
                h = mix(h, tag_hash[t as usize]);
            }
            h = mix(h, 0xfc);
            for &t in &o.excludes {
                h = mix(h, tag_hash[t as usize]);
            }
            for x in [
                o.boost.to_bits() as u64,
                o.popularity.to_bits() as u64,
                o.buy_again as u64,
                o.caps.per_hour.map_or(u64::MAX, u64::from),
                o.caps.per_day.map_or(u64::MAX, u64::from),
                o.caps.per_week.map_or(u64::MAX, u64::from),
                o.caps.total.map_or(u64::MAX, u64::from),
                o.start.unwrap_or(i64::MIN) as u64,
                o.end.unwrap_or(i64::MIN) as u64,
                o.creative
                    .as_deref()
                    .map_or(u64::MAX, |c| checksum(c.as_bytes())),
            ] {
                h = mix(h, x);
            }
        }
        h
    }

    /// The catalog written back as version-1 JSON, tags and lists in their order and the
    /// creative byte for byte as published: what `from_json` reads to the same catalog. For
    /// the native tool and the fuzz targets; not in the WebAssembly build.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn to_json(&self) -> String {
        use std::fmt::Write;
        let s = |t: &str| serde_json::to_string(t).expect("a string is JSON");
        let n = |x: f32| serde_json::to_string(&(x as f64)).expect("a finite number is JSON");
        let list = |v: Vec<&str>| v.into_iter().map(s).collect::<Vec<_>>().join(",");
        let map = |v: Vec<(&str, f32)>| {
            v.into_iter()
                .map(|(k, w)| format!("{}:{}", s(k), n(w)))
                .collect::<Vec<_>>()
                .join(",")
        };
        let mut out = format!(
            r#"{{"version":{CATALOG_VERSION},"id":{},"offers":["#,
            s(&self.id)
        );
        for i in 0..self.len() {
            let o = &self.offers[i];
            if i > 0 {
                out.push(',');
            }
            let _ = write!(
                out,
                r#"{{"id":{},"tags":{{{}}},"items":[{}],"boost":{},"popularity":{},"buyAgain":{}"#,
                s(&o.id),
                map(self.tags_of(i).collect()),
                list(self.items_of(i).collect()),
                n(o.boost),
                n(o.popularity),
                o.buy_again,
            );
            let related: Vec<_> = self.related_of(i).collect();
            if !related.is_empty() {
                let _ = write!(out, r#","related":{{{}}}"#, map(related));
            }
            let caps: Vec<String> = [
                ("perHour", o.caps.per_hour),
                ("perDay", o.caps.per_day),
                ("perWeek", o.caps.per_week),
                ("total", o.caps.total),
            ]
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| format!(r#""{k}":{v}"#)))
            .collect();
            let _ = write!(out, r#","caps":{{{}}}"#, caps.join(","));
            for (k, t) in [("start", o.start), ("end", o.end)] {
                if let Some(t) = t {
                    let _ = write!(out, r#","{k}":{}"#, s(&format_rfc3339(t)));
                }
            }
            let _ = write!(
                out,
                r#","requires":[{}],"excludes":[{}]"#,
                list(self.requires_of(i).collect()),
                list(self.excludes_of(i).collect())
            );
            if let Some(cr) = &o.creative {
                let _ = write!(out, r#","creative":{cr}"#);
            }
            out.push('}');
        }
        out.push(']');
        if let Some(f) = self.fallback {
            let _ = write!(out, r#","fallback":{}"#, s(&self.offers[f].id));
        }
        out.push('}');
        out
    }
}

// ---------------------------------------------------------------------------------------
// Dates: RFC 3339 without a date library.

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.fff](Z|±HH:MM)` into milliseconds since the Unix epoch.
pub fn parse_rfc3339(s: &str) -> std::result::Result<Millis, String> {
    let bad = || format!("{s:?} is not an RFC 3339 timestamp like 2026-11-29T00:00:00Z");
    let b = s.as_bytes();
    if b.len() < 20 || b.len() > 40 {
        return Err(bad());
    }
    let num = |r: std::ops::Range<usize>| -> std::result::Result<i64, String> {
        let part = b.get(r).ok_or_else(bad)?;
        if !part.iter().all(u8::is_ascii_digit) {
            return Err(bad());
        }
        Ok(part.iter().fold(0i64, |a, &c| a * 10 + (c - b'0') as i64))
    };
    if b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return Err(bad());
    }
    let (y, mo, d, h, mi, sec) = (
        num(0..4)?,
        num(5..7)?,
        num(8..10)?,
        num(11..13)?,
        num(14..16)?,
        num(17..19)?,
    );
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&mo)
        || d < 1
        || d > month_days[(mo - 1) as usize]
        || h > 23
        || mi > 59
        || sec > 60
    {
        return Err(bad());
    }
    let mut i = 19;
    let mut ms = 0i64;
    if b[i] == b'.' {
        let start = i + 1;
        i += 1;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start || i - start > 9 {
            return Err(bad());
        }
        let frac = &s[start..i];
        ms = frac
            .bytes()
            .chain(std::iter::repeat(b'0'))
            .take(3)
            .fold(0, |a, c| a * 10 + (c - b'0') as i64);
    }
    let offset_min = match b.get(i) {
        Some(b'Z' | b'z') if i + 1 == b.len() => 0,
        Some(&sign @ (b'+' | b'-')) if i + 6 == b.len() && b[i + 3] == b':' => {
            let (oh, om) = (num(i + 1..i + 3)?, num(i + 4..i + 6)?);
            if oh > 23 || om > 59 {
                return Err(bad());
            }
            let m = oh * 60 + om;
            if sign == b'+' {
                m
            } else {
                -m
            }
        }
        _ => return Err(bad()),
    };
    let days = days_from_civil(y, mo, d);
    let secs = days * 86_400 + h * 3600 + mi * 60 + sec.min(59) - offset_min * 60;
    Ok(secs * 1000 + ms)
}

/// Formats milliseconds since the Unix epoch as `YYYY-MM-DDTHH:MM:SS[.mmm]Z`.
pub fn format_rfc3339(t: Millis) -> String {
    let secs = t.div_euclid(1000);
    let ms = t.rem_euclid(1000);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    let base = format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        s / 3600,
        s / 60 % 60,
        s % 60
    );
    if ms == 0 {
        base + "Z"
    } else {
        format!("{base}.{ms:03}Z")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_and_respect_offsets() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z").unwrap(), 0);
        assert_eq!(
            parse_rfc3339("2026-11-29T00:00:00Z").unwrap(),
            1_795_910_400_000
        );
        assert_eq!(
            parse_rfc3339("2026-11-29T01:00:00+01:00").unwrap(),
            1_795_910_400_000
        );
        assert_eq!(
            parse_rfc3339("2026-11-29T00:00:00.25Z").unwrap(),
            1_795_910_400_250
        );
        for t in [0, 1_795_910_400_000, 951_782_400_123, -86_400_000] {
            assert_eq!(parse_rfc3339(&format_rfc3339(t)).unwrap(), t);
        }
        for bad in [
            "2026-02-30T00:00:00Z",
            "2026-11-29",
            "2026-11-29T00:00:00",
            "yesterday",
            "2026-13-01T00:00:00Z",
        ] {
            assert!(parse_rfc3339(bad).is_err(), "{bad}");
        }
    }
}

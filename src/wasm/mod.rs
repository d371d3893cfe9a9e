//! The JavaScript package: a thin wasm-bindgen facade over the core.
//!
//! Nothing here decides anything: it converts JS values to core types and back, gives the
//! core a clock, a random source and a store (`localStorage` or memory), and sends the
//! report. Every failure is thrown as a JS `Error` with a stable `code`.

#[macro_use]
pub mod types;
mod error;
mod report;
mod storage;

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Function, Reflect};
use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::*;

use crate::catalog::Catalog as CoreCatalog;
use crate::engine::{Engine as CoreEngine, PrivacyView, ProfileView, StorageMode};
use crate::error::{Code, Error};
use crate::privacy::{PrivacySettings, ReportMode};
use crate::profile::{Event, EventKind, Settings};
use crate::rank::{Decision as CoreDecision, Explanation, Random, Request, Scoring, SplitMix64};
use crate::Millis;

pub use error::{to_js, PocketrankError, TS_ERROR};
pub use storage::LocalStorage;

const DAY_MS: f64 = 86_400_000.0;

// ---------------------------------------------------------------------------------------
// The TypeScript of every value that crosses the boundary, generated from the Rust types
// (see `types.rs`: each declaration below fails the build if its Rust struct changes).

/// The generated TypeScript (see `types.rs`).
#[allow(non_upper_case_globals)]
pub mod ts {
    use crate::map::SortedMap;

    use serde::de::IgnoredAny;
    use wasm_bindgen::prelude::*;

    js_union! {
        /// What the shopper did.
        EventKind for crate::profile::EventKind {
            View => "view", Cart => "cart", Purchase => "purchase", Search => "search",
            Click => "click", Dismiss => "dismiss",
        }
    }
    js_union! {
        /// Why an offer was chosen: the best for the profile, a rare exploration, the catalog's
        /// fallback, the best without the profile, or drawn by the private choice.
        DecisionReason for crate::rank::Reason {
            Personal => "personal", Explore => "explore", Fallback => "fallback",
            Popular => "popular", Private => "private",
        }
    }
    js_union! {
        /// Where the profile lives: `localStorage`, or memory only.
        StorageMode for crate::engine::StorageMode { Local => "local", Memory => "memory" }
    }
    js_union! {
        /// What a report carries: the offer shown, a noised offer, or a privately chosen one.
        Mechanism for crate::safeguard::Mechanism {
            Exact => "exact", Noised => "noised", PrivateChoice => "private-choice",
        }
    }
    js_union! {
        /// What a term of a decision's score is about.
        ContributionKind for crate::rank::Factor {
            Interest(_) => "interest", Item(_) => "item", Related(_) => "related",
            Context(_) => "context", Popularity => "popularity", Boost => "boost",
        }
    }

    ts_interface! {
        /// Options of `Engine.open` and `Engine.inMemory`.
        in EngineOptions for super::Options {
            /// Keys are `pocketrank:<namespace>:…`; 1–64 characters of A-Z a-z 0-9 . _ - (default "default").
            namespace "namespace": opt string,
            /// Days for an interest's weight to halve (default 60).
            half_life_days "halfLifeDays": opt number,
            /// Days after which an interest or item not seen again is dropped (default 180).
            retention_days "retentionDays": opt number,
            /// Probability of showing a random eligible offer instead of the best, per slot, never the first of several (default 0.01).
            exploration "exploration": opt number,
            /// How much several slots avoid similar offers: the share of an offer's interest and context term taken off for the tags it shares with an offer already picked (default 1; 0: plain top-k).
            diversity "diversity": opt number,
            /// More sensitive tag namespaces, never recorded, added to the default list (health,
            /// medical, pharmacy, religion, sexuality, sexual-orientation, politics, political,
            /// financial-distress, debt, child-data, age).
            sensitive "sensitive": opt [string],
            /// Start paused, for sites that wait for consent; `resume()` starts learning. Never un-pauses a shopper's own pause.
            paused "paused": opt boolean,
            /// Tests: seed of the exploration's random numbers (default: from the browser's crypto).
            seed "seed": opt number,
            /// Tests: a fixed time (ms since the epoch) or a clock function.
            now "now": opt ("number | (() => number)" => IgnoredAny),
            /// What reports may reveal (see PRIVACY.md). Without it: exact reports, with the catalog guards on.
            privacy "privacy": opt ("PrivacyOptions" => IgnoredAny),
        }
    }
    ts_interface! {
        /// The privacy options. `epsilon` alone turns on noised reports; `privateChoice` draws the shown offer privately.
        in PrivacyOptions for super::PrivacyIn {
            /// ε per noised report (or per privately chosen slot), in (0, 20] (default 1 with privateChoice).
            epsilon "epsilon": opt number,
            /// ε the device may spend per 7 days; beyond it no report is sent (default 8).
            budget_per_week "budgetPerWeek": opt number,
            /// Draw the shown offer with the exponential mechanism (ε per slot, from the same budget); the report is that offer.
            private_choice "privateChoice": opt boolean,
            /// Catalogs with fewer offers are never personalized (default 5).
            min_offers "minOffers": opt number,
            /// At most this many distinct catalogs (by content) are personalized per 7 days (default 8).
            catalogs_per_week "catalogsPerWeek": opt number,
            /// Exact reports: the most bits the answers of 7 days may say about the profile, from 0 to 1000 (default 24; see PRIVACY.md).
            bits_per_week "bitsPerWeek": opt number,
        }
    }
    ts_interface! {
        /// What the shopper did.
        in ShoppingEvent for crate::profile::Event {
            /// What happened.
            kind "kind": req ("EventKind" => String),
            /// What it is about, for example `category:running`, `brand:acme`.
            tags "tags": def [string],
            /// The item (SKU), for view, cart and purchase.
            item "item": opt string,
            /// The offer, for click and dismiss.
            offer "offer": opt string,
            /// The search text, for search: each word becomes a `search:<word>` tag.
            terms "terms": opt string,
        }
    }
    ts_interface! {
        /// What a decision is for.
        in ChooseRequest for super::ChooseIn {
            /// The placement, for example "home"; offers may target it with the tag `slot:<name>`.
            slot "slot": opt string,
            /// Tags of the page, for example the category being browsed.
            context "context": opt [string],
            /// How many distinct offers (`chooseMany` only; default 1).
            count "count": opt number,
            /// Do not count the chosen offers as shown (for previews).
            preview "preview": opt boolean,
            /// Offer IDs not to choose, for example offers already on the page.
            exclude "exclude": opt [string],
        }
    }
    ts_interface! {
        /// One of the shopper's interests.
        out InterestView for crate::engine::InterestView {
            /// The tag, for example `category:running`.
            tag "tag": req string,
            /// The tag in plain words, for example `running`.
            label "label": req string,
            /// Weight now (after decay).
            weight "weight": req number,
            /// Events behind it, by kind (only kinds that happened).
            events "events": req ("Partial<Record<EventKind, number>>" => SortedMap<&'static str, u32>),
            /// First event, ms since the epoch.
            first_seen "firstSeen": req number,
            /// Latest event, ms since the epoch.
            last_seen "lastSeen": req number,
        }
    }
    ts_interface! {
        /// The shopper's history with one item.
        out ItemView for crate::engine::ItemView {
            /// The item ID.
            item "item": req string,
            /// Weight now (after decay).
            weight "weight": req number,
            /// Views.
            views "views": req number,
            /// Times put in the cart.
            carts "carts": req number,
            /// Purchases.
            purchases "purchases": req number,
            /// Latest event, ms since the epoch.
            last_seen "lastSeen": req number,
            /// Latest purchase, ms since the epoch.
            last_purchase "lastPurchase": opt number,
        }
    }
    ts_interface! {
        /// An offer as the shopper met it.
        out OfferView for crate::engine::OfferView {
            /// The offer ID.
            offer "offer": req string,
            /// Times shown.
            shown "shown": req number,
            /// Latest impression, ms since the epoch.
            last_shown "lastShown": opt number,
            /// Clicks.
            clicks "clicks": req number,
            /// Latest dismissal, ms since the epoch.
            dismissed "dismissed": opt number,
        }
    }
    ts_interface! {
        /// Everything the profile holds, heaviest first.
        out ProfileView for crate::engine::ProfileView {
            /// Personalization paused.
            paused "paused": req boolean,
            /// Interests, heaviest first.
            interests "interests": req [("InterestView" => crate::engine::InterestView)],
            /// Items, heaviest first.
            items "items": req [("ItemView" => crate::engine::ItemView)],
            /// Offers shown or dismissed.
            offers "offers": req [("OfferView" => crate::engine::OfferView)],
        }
    }
    ts_interface! {
        /// Where the profile lives, and why.
        out EngineStatus for super::StatusOut {
            /// `local` (in `localStorage`) or `memory` (gone when the page closes).
            storage "storage": req ("StorageMode" => &'static str),
            /// What happened to storage (`storage.*`, `profile.*`), or null.
            code "code": opt ("ErrorCode" => &'static str),
            /// The same in words.
            reason "reason": opt string,
            /// Keys under which unreadable stored values were set aside.
            quarantined "quarantined": req [string],
            /// A profile written by a newer version is stored and left untouched.
            newer_version_stored "newerVersionStored": req boolean,
            /// Size of the stored profile, in bytes.
            stored_bytes "storedBytes": req number,
            /// Personalization paused.
            paused "paused": req boolean,
            /// Why the latest decision was not personal although it could have been, or null.
            guard "guard": opt ("PrivacyGuard" => &'static str),
            /// The catalog guards: catalogs with fewer offers are never personalized...
            min_offers "minOffers": req number,
            /// ...and at most this many distinct catalogs are per 7 days...
            catalogs_per_week "catalogsPerWeek": req number,
            /// ...of which this many so far.
            catalogs_this_week "catalogsThisWeek": req number,
        }
    }
    ts_interface! {
        /// One report that left the device.
        out LedgerView for crate::engine::LedgerView {
            /// When it was sent, ms since the epoch.
            time "time": req number,
            /// Where.
            endpoint "endpoint": req string,
            /// The whole body, exactly as sent.
            body "body": req string,
            /// The offer shown, a noised one, or a privately chosen one.
            mechanism "mechanism": req ("Mechanism" => &'static str),
            /// ε spent (null for an exact report).
            epsilon "epsilon": opt number,
        }
    }
    ts_interface! {
        /// The privacy safeguards, for the shopper's "your data" page.
        out PrivacyView for crate::engine::PrivacyView {
            /// What the site receives: the exact offer, a noised one, or a privately chosen one.
            mode "mode": req ("Mechanism" => &'static str),
            /// ε per report (or per privately chosen slot); null in exact mode.
            epsilon "epsilon": opt number,
            /// ε per week; null in exact mode.
            budget_per_week "budgetPerWeek": opt number,
            /// The window, in days.
            window_days "windowDays": req number,
            /// ε spent in the window.
            spent "spent": opt number,
            /// ε left in the window.
            remaining "remaining": opt number,
            /// When the oldest spend leaves the window (ms since the epoch).
            frees_at "freesAt": opt number,
            /// Catalogs with fewer offers are never personalized.
            min_offers "minOffers": req number,
            /// Distinct catalogs personalized per week, at most.
            catalogs_per_week "catalogsPerWeek": req number,
            /// Distinct catalogs personalized this week so far.
            catalogs_this_week "catalogsThisWeek": req number,
            /// Exact reports: the most bits the answers of 7 days may say about the profile; null in the other modes.
            bits_per_week "bitsPerWeek": opt number,
            /// Bits spent in the window.
            bits_spent "bitsSpent": opt number,
            /// Bits left in the window.
            bits_remaining "bitsRemaining": opt number,
            /// When the oldest spend of bits leaves the window (ms since the epoch).
            bits_free_at "bitsFreeAt": opt number,
            /// Why the latest decision was not personal, or null.
            guard "guard": opt ("PrivacyGuard" => &'static str),
            /// The default sensitive namespaces.
            sensitive_defaults "sensitiveDefaults": req [string],
            /// The site's own.
            sensitive_site "sensitiveSite": req [string],
            /// The shopper's own.
            sensitive_shopper "sensitiveShopper": req [string],
            /// Every report sent (the latest 200), latest first.
            ledger "ledger": req [("LedgerView" => crate::engine::LedgerView)],
        }
    }
    ts_interface! {
        /// One term of a decision's score.
        out Contribution for super::ContributionOut {
            /// What the term is about.
            kind "kind": req ("ContributionKind" => &'static str),
            /// Its tag or item (empty for popularity and boost).
            label "label": req string,
            /// How much it added.
            amount "amount": req number,
        }
    }
    ts_interface! {
        /// A version-1 catalog as a plain object (see the README for every rule).
        in CatalogJson for crate::catalog::RawCatalog {
            /// The format version.
            version "version": req ("1" => Option<u64>),
            /// The catalog's own ID.
            id "id": opt string,
            /// The offers (at most 50,000).
            offers "offers": req ("OfferJson[]" => crate::catalog::RawOffers),
            /// The offer shown when nothing is personal.
            fallback "fallback": opt string,
        }
    }
    ts_interface! {
        /// One offer of a catalog.
        in OfferJson for crate::catalog::RawOffer {
            /// 1–128 characters of A-Z a-z 0-9 . _ : -, unique in the catalog.
            id "id": req string,
            /// Tag → weight in [0, 1].
            tags "tags": def ("Record<string, number>" => crate::catalog::TagWeights),
            /// Items (SKUs) the offer is about.
            items "items": def [string],
            /// Items often had with this offer → similarity in [0, 1] (at most 32), computed by the retailer from aggregate sales (`pocketrank-tool relate`).
            related "related": def ("Record<string, number>" => crate::catalog::TagWeights),
            /// Added to the score, in [-1, 1].
            boost "boost": def number,
            /// Popularity prior, in [0, 1].
            popularity "popularity": def number,
            /// Frequency caps.
            caps "caps": def ("OfferCaps" => crate::catalog::RawCaps),
            /// RFC 3339; shown from then on.
            start "start": opt string,
            /// RFC 3339; shown until then.
            end "end": opt string,
            /// Tags the profile or the page must have.
            requires "requires": def [string],
            /// Tags the profile and the page must not have.
            excludes "excludes": def [string],
            /// May be shown for an item bought within 7 days.
            buy_again "buyAgain": def boolean,
            /// What the page renders (JSON of up to 64 KB, opaque to the ranker).
            creative "creative": opt ("Creative" => String),
        }
    }
    ts_interface! {
        /// How often an offer may be shown: whole numbers; per hour, day, week up to 20, total up to 10,000.
        in OfferCaps for crate::catalog::RawCaps {
            /// Per rolling hour.
            per_hour "perHour": opt number,
            /// Per rolling day.
            per_day "perDay": opt number,
            /// Per rolling week.
            per_week "perWeek": opt number,
            /// Ever.
            total "total": opt number,
        }
    }

    #[wasm_bindgen(typescript_custom_section)]
    const TS_TYPES: &'static str = cat!(
        EventKind::TS,
        DecisionReason::TS,
        StorageMode::TS,
        Mechanism::TS,
        ContributionKind::TS,
        "\n/** The kinds `feedback()` takes. */\nexport type FeedbackKind = Extract<EventKind, \"click\" | \"dismiss\">;\n",
        "\n/** The codes of `status().guard`: why a decision was not personal. */\nexport type PrivacyGuard = Extract<ErrorCode, `privacy.${string}`>;\n",
        r#"
    /**
     * What an offer's `creative` holds. pocketrank never reads it: the catalog carries whatever JSON
     * and pages render it as text. The fields below are what the embed renders; a site declares
     * its own by merging into this interface:
     *
     *     declare module "pocketrank" { interface Creative { badge?: string } }
     */
    export interface Creative {
      /** The headline. */
      title?: string;
      /** A line of text under it. */
      text?: string;
      /** An image URL (`data:` or `https:`). */
      image?: string;
      [field: string]: unknown;
    }
    "#,
        EngineOptions::TS,
        PrivacyOptions::TS,
        ShoppingEvent::TS,
        ChooseRequest::TS,
        InterestView::TS,
        ItemView::TS,
        OfferView::TS,
        ProfileView::TS,
        EngineStatus::TS,
        LedgerView::TS,
        PrivacyView::TS,
        Contribution::TS,
        CatalogJson::TS,
        OfferJson::TS,
        OfferCaps::TS,
    );
}

#[wasm_bindgen]
extern "C" {
    /// `EngineOptions` in TypeScript.
    #[wasm_bindgen(typescript_type = "EngineOptions")]
    pub type EngineOptions;
    /// `ShoppingEvent` in TypeScript.
    #[wasm_bindgen(typescript_type = "ShoppingEvent")]
    pub type ShoppingEvent;
    /// `ChooseRequest` in TypeScript.
    #[wasm_bindgen(typescript_type = "ChooseRequest")]
    pub type ChooseRequest;
    /// `ProfileView` in TypeScript.
    #[wasm_bindgen(typescript_type = "ProfileView")]
    pub type ProfileViewJs;
    /// `PrivacyView` in TypeScript.
    #[wasm_bindgen(typescript_type = "PrivacyView")]
    pub type PrivacyViewJs;
    /// `EngineStatus` in TypeScript.
    #[wasm_bindgen(typescript_type = "EngineStatus")]
    pub type EngineStatusJs;
    /// `Contribution[]` in TypeScript.
    #[wasm_bindgen(typescript_type = "Contribution[]")]
    pub type ContributionsJs;
    /// `Decision[]` in TypeScript.
    #[wasm_bindgen(typescript_type = "Decision[]")]
    pub type DecisionsJs;
    /// `CatalogJson` in TypeScript.
    #[wasm_bindgen(typescript_type = "CatalogJson")]
    pub type CatalogJsonJs;
    /// `Creative | undefined` in TypeScript: the offer's creative, as published.
    #[wasm_bindgen(typescript_type = "Creative | undefined")]
    pub type CreativeJs;
    /// `string[]` in TypeScript.
    #[wasm_bindgen(typescript_type = "string[]")]
    pub type StringsJs;
}

/// The never-record rule, the one `Engine.addSensitive` applies: `namespace` trimmed (Unicode
/// white space, as Rust's `str::trim`) and lowercased must be 1–64 characters of
/// `a-z 0-9 . _ -`. Returns the group as it would be stored; throws a `PocketrankError`
/// (`OPTIONS_INVALID`, field `sensitive`) otherwise. A page validates its field with it, so
/// that the field and the engine can never disagree.
#[wasm_bindgen(js_name = checkSensitive)]
pub fn check_sensitive(namespace: &str) -> Result<String, JsValue> {
    crate::safeguard::check_sensitive(namespace).map_err(to_js)
}

fn serializer() -> serde_wasm_bindgen::Serializer {
    serde_wasm_bindgen::Serializer::json_compatible()
}

fn to_value<T: Serialize>(v: &T) -> JsValue {
    v.serialize(&serializer()).unwrap_or(JsValue::NULL)
}

fn parse_creative(text: Option<&str>) -> JsValue {
    text.and_then(|t| js_sys::JSON::parse(t).ok())
        .unwrap_or(JsValue::UNDEFINED)
}

// ---------------------------------------------------------------------------------------

/// A validated catalog, kept in Wasm memory and reused across decisions and engines.
#[wasm_bindgen]
#[derive(Debug)]
pub struct Catalog {
    inner: CoreCatalog,
}

#[wasm_bindgen]
impl Catalog {
    /// Parses and validates a version-1 JSON catalog. Throws a `PocketrankError` with a
    /// `catalog.*` code, and `offer` / `field` where it was wrong.
    #[wasm_bindgen(js_name = fromJson)]
    pub fn from_json(text: &str) -> Result<Catalog, JsValue> {
        CoreCatalog::from_json(text)
            .map(|inner| Catalog { inner })
            .map_err(to_js)
    }

    /// Reads a catalog in the compact binary form (made by `pocketrank-tool pack`), with
    /// the same checks and codes as `fromJson`, plus `catalog.invalid_binary`.
    #[wasm_bindgen(js_name = fromBytes)]
    pub fn from_bytes(bytes: &[u8]) -> Result<Catalog, JsValue> {
        CoreCatalog::from_bytes(bytes)
            .map(|inner| Catalog { inner })
            .map_err(to_js)
    }

    /// Validates a catalog given as a plain object (as `JSON.parse` returns it).
    #[wasm_bindgen(js_name = from)]
    pub fn from_object(value: &CatalogJsonJs) -> Result<Catalog, JsValue> {
        let text = js_sys::JSON::stringify(value)
            .ok()
            .and_then(|s| s.as_string())
            .ok_or_else(|| {
                error::js_error(
                    Code::CatalogInvalidJson,
                    "the catalog object cannot be turned into JSON",
                )
            })?;
        Catalog::from_json(&text)
    }

    /// The catalog's own ID.
    #[wasm_bindgen(getter)]
    pub fn id(&self) -> String {
        self.inner.id().to_string()
    }

    /// Number of offers.
    #[wasm_bindgen(getter)]
    pub fn length(&self) -> usize {
        self.inner.len()
    }

    /// Every offer ID, in catalog order.
    #[wasm_bindgen(js_name = offerIds)]
    pub fn offer_ids(&self) -> StringsJs {
        let arr = js_sys::Array::new();
        for o in self.inner.offers() {
            arr.push(&JsValue::from_str(&o.id));
        }
        arr.unchecked_into()
    }

    /// The creative of an offer (as published), or `undefined`. Render it as text.
    pub fn creative(&self, offer_id: &str) -> CreativeJs {
        let text = self
            .inner
            .find(offer_id)
            .and_then(|i| self.inner.offer(i).creative.as_deref());
        parse_creative(text).unchecked_into()
    }

    /// A 16-hex-digit hash of the catalog's content.
    #[wasm_bindgen(getter, js_name = contentHash)]
    pub fn content_hash(&self) -> String {
        format!("{:016x}", self.inner.content_hash())
    }
}

impl Catalog {
    /// The core catalog.
    pub fn core(&self) -> &CoreCatalog {
        &self.inner
    }
}

// ---------------------------------------------------------------------------------------

#[wasm_bindgen(module = "/src/wasm/decision.js")]
extern "C" {
    /// One chosen offer, a plain JS object (`decision.js`): the Wasm side fills it in one call
    /// and keeps nothing, so it needs no `free()` and no finalizer. Only `offerId` (or with
    /// noised reports the ID the mechanism drew) is ever sent anywhere; the explanation stays
    /// on the device.
    #[wasm_bindgen(reexport, typescript_type = "Decision")]
    #[derive(Debug, Clone)]
    pub type Decision;

    #[wasm_bindgen(constructor)]
    fn new(
        offer_id: &str,
        reason: &str,
        score: f32,
        report_body: Option<&str>,
        creative: Option<&str>,
        detail: &str,
        labels: Option<&str>,
    ) -> Decision;

    /// The chosen offer's ID.
    #[wasm_bindgen(method, getter, js_name = offerId)]
    pub fn offer_id(this: &Decision) -> String;

    /// Why this offer: `personal`, `explore`, `fallback`, `popular` or `private`.
    #[wasm_bindgen(method, getter)]
    pub fn reason(this: &Decision) -> String;

    /// The offer's score.
    #[wasm_bindgen(method, getter)]
    pub fn score(this: &Decision) -> f32;

    /// The offer's creative from the catalog (render it as text), or `undefined`.
    #[wasm_bindgen(method, getter)]
    pub fn creative(this: &Decision) -> CreativeJs;

    /// Why this offer, in the shopper's words.
    #[wasm_bindgen(method)]
    pub fn explain(this: &Decision) -> String;

    /// The largest terms of the score.
    #[wasm_bindgen(method)]
    pub fn contributions(this: &Decision) -> ContributionsJs;

    /// What a report of `decision` sends, or `None` when it is not a decision of this module.
    #[wasm_bindgen(js_name = reportBody)]
    fn report_body(decision: &JsValue) -> Option<String>;

    /// Gives `decision.js` the function that writes a decision's sentence and contributions
    /// from its compact form (`describe`), once.
    #[wasm_bindgen(js_name = setDescribe)]
    fn set_describe(describe: &JsValue);
}

/// The TypeScript of the `Decision` class (`decision.js`); `tests/node.rs` compares its members
/// with a real decision's.
pub const TS_DECISION: &str = r#"
/**
 * One chosen offer: a plain JS object. Nothing of it is kept in Wasm memory, so there is
 * nothing to free. Only `offerId` (or with noised reports the ID the mechanism drew) is ever
 * sent anywhere, by `engine.report`; the explanation stays on the device.
 */
export class Decision {
  private constructor();
  /** The chosen offer's ID: the whole body of an exact report. */
  readonly offerId: string;
  /** Why this offer: `personal`, `explore`, `fallback`, `popular` or `private`. */
  readonly reason: DecisionReason;
  /** The offer's score. */
  readonly score: number;
  /** The offer's creative from the catalog (render it as text), or `undefined`. */
  readonly creative: Creative | undefined;
  /**
   * Why this offer, in the shopper's words: products and tags are named by the `labels` of
   * this offer's creative, else of any offer's in the catalog (else described, never shown by
   * their IDs or codes). Computed on the device; never sent.
   */
  explain(): string;
  /** The largest terms of the score. */
  contributions(): Contribution[];
  /** Does nothing: a decision holds no Wasm memory. Kept so that older code runs. */
  free(): void;
  /** Does nothing, as `free()`. */
  [Symbol.dispose](): void;
}
"#;

#[wasm_bindgen(typescript_custom_section)]
const TS_DECISION_SECTION: &'static str = TS_DECISION;

#[derive(Debug, Clone, Serialize)]
struct ContributionOut {
    kind: &'static str,
    label: String,
    amount: f32,
}

/// The JS decision of a core decision. Its report body is drawn now; its terms and the
/// reasons of its explanation go to JS as one compact string (`Explanation::write_compact`),
/// which `describe` turns into the sentence or the contributions only when a page asks: most
/// decisions are shown, reported and dropped without either.
fn decision_of(
    d: &CoreDecision,
    engine: &CoreEngine,
    catalog: &CoreCatalog,
    rng: &mut dyn Random,
) -> Decision {
    static DESCRIBE: std::sync::Once = std::sync::Once::new();
    DESCRIBE.call_once(|| {
        let describe = Closure::<dyn FnMut(String, Option<String>, u32) -> JsValue>::new(describe);
        set_describe(&describe.into_js_value());
    });
    let body = engine.report_body(catalog, d, rng);
    let mut detail = String::with_capacity(160);
    Explanation::write_compact(d, engine.profile(), &mut detail);
    Decision::new(
        &d.offer_id,
        ts::DecisionReason::of(&d.reason),
        d.score,
        (body != d.offer_id).then_some(body.as_str()),
        catalog.offer(d.offer).creative.as_deref(),
        &detail,
        labels_of(d, catalog).as_deref(),
    )
}

/// The labels that name the decision's products and tags ([`CoreCatalog::label`]: the offer's
/// own creative first, then any offer's), or `None` when it has none. Looked up now, while the
/// catalog is at hand; the sentence is written only if a page asks. Compact, as the terms are
/// (no JSON writer in the module): per key, its length in bytes, `:`, the key, the label's
/// length, `:`, the label; read back by [`read_labels`].
fn labels_of(d: &CoreDecision, catalog: &CoreCatalog) -> Option<String> {
    use crate::rank::Factor;
    let mut out = String::new();
    let mut digits = itoa::Buffer::new();
    for (i, c) in d.contributions.iter().enumerate() {
        if let Factor::Interest(k) | Factor::Item(k) | Factor::Related(k) | Factor::Context(k) =
            &c.factor
        {
            let said = d.contributions[..i].iter().any(|e| match &e.factor {
                Factor::Interest(x) | Factor::Item(x) | Factor::Related(x) | Factor::Context(x) => {
                    x == k
                }
                _ => false,
            });
            if said {
                continue;
            }
            if let Some(l) = catalog.label(d.offer, k) {
                for part in [k.as_str(), l.as_str()] {
                    out.push_str(digits.format(part.len()));
                    out.push(':');
                    out.push_str(part);
                }
            }
        }
    }
    (!out.is_empty()).then_some(out)
}

/// Reads what [`labels_of`] wrote: (key, label) pairs; stops at anything else.
fn read_labels(mut text: &str) -> Vec<(&str, &str)> {
    fn part<'a>(text: &mut &'a str) -> Option<&'a str> {
        let (len, rest) = text.split_once(':')?;
        let len: usize = len.parse().ok()?;
        let (p, rest) = (rest.get(..len)?, rest.get(len..)?);
        *text = rest;
        Some(p)
    }
    let mut pairs = Vec::new();
    while let (Some(k), Some(l)) = (part(&mut text), part(&mut text)) {
        pairs.push((k, l));
    }
    pairs
}

/// What `decision.explain()` (`what` 0) and `decision.contributions()` (`what` 1) return,
/// from the decision's compact form and the labels [`labels_of`] found for it.
fn describe(detail: String, labels: Option<String>, what: u32) -> JsValue {
    use crate::rank::Factor;
    let Some((terms, explanation)) = Explanation::read_compact(&detail) else {
        return JsValue::UNDEFINED;
    };
    if what == 1 {
        let contributions: Vec<ContributionOut> = terms
            .into_iter()
            .map(|c| ContributionOut {
                kind: ts::ContributionKind::of(&c.factor),
                label: match c.factor {
                    Factor::Interest(t)
                    | Factor::Item(t)
                    | Factor::Related(t)
                    | Factor::Context(t) => t,
                    Factor::Popularity | Factor::Boost => String::new(),
                },
                amount: c.amount,
            })
            .collect();
        return to_value(&contributions);
    }
    let labels = read_labels(labels.as_deref().unwrap_or(""));
    explanation
        .render(&|key| {
            labels
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, l)| l.to_string())
        })
        .into()
}

// ---------------------------------------------------------------------------------------

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Options {
    namespace: Option<String>,
    half_life_days: Option<f64>,
    retention_days: Option<f64>,
    exploration: Option<f64>,
    diversity: Option<f64>,
    sensitive: Option<Vec<String>>,
    paused: Option<bool>,
    seed: Option<f64>,
    #[allow(dead_code)]
    now: Option<IgnoredAny>,
    #[allow(dead_code)]
    privacy: Option<IgnoredAny>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct PrivacyIn {
    epsilon: Option<f64>,
    budget_per_week: Option<f64>,
    private_choice: Option<bool>,
    min_offers: Option<f64>,
    catalogs_per_week: Option<f64>,
    bits_per_week: Option<f64>,
}

fn whole(v: Option<f64>, default: usize, field: &str) -> Result<usize, JsValue> {
    match v {
        None => Ok(default),
        Some(n) if n.is_finite() && n >= 0.0 && n.fract() == 0.0 && n <= 1e9 => Ok(n as usize),
        Some(n) => Err(to_js(Error::at_field(
            Code::OptionsInvalid,
            field,
            format!("{n} is not a whole number"),
        ))),
    }
}

/// Reads the `privacy` option: `epsilon` turns on noised reports, `privateChoice` private
/// choice; without either the report is exact and `budgetPerWeek` is refused.
fn privacy_settings(options: &JsValue) -> Result<PrivacySettings, JsValue> {
    let v = Reflect::get(options, &"privacy".into()).unwrap_or(JsValue::UNDEFINED);
    if v.is_undefined() || v.is_null() {
        return Ok(PrivacySettings::default());
    }
    check_keys(&v, ts::PrivacyOptions::KEYS)?;
    let p: PrivacyIn = read_options(&v, "privacy.")?;
    let d = PrivacySettings::default();
    let mode = match (p.private_choice, p.epsilon) {
        (Some(true), _) => ReportMode::PrivateChoice,
        (_, Some(_)) => ReportMode::Noised,
        _ => ReportMode::Exact,
    };
    if mode == ReportMode::Exact && p.budget_per_week.is_some() {
        return Err(to_js(Error::at_field(
            Code::OptionsInvalid,
            "privacy.budgetPerWeek",
            "a budget needs noised reports (epsilon) or privateChoice",
        )));
    }
    if p.bits_per_week.is_some_and(|b| !b.is_finite()) {
        // Unbounded is for the native replay's measurements, never for a page.
        return Err(to_js(Error::at_field(
            Code::OptionsInvalid,
            "privacy.bitsPerWeek",
            "must be a number from 0 to 1000",
        )));
    }
    Ok(PrivacySettings {
        mode,
        epsilon_per_report: p.epsilon.unwrap_or(d.epsilon_per_report),
        budget_per_window: p.budget_per_week.unwrap_or(d.budget_per_window),
        min_offers: whole(p.min_offers, d.min_offers, "privacy.minOffers")?,
        catalogs_per_window: whole(
            p.catalogs_per_week,
            d.catalogs_per_window,
            "privacy.catalogsPerWeek",
        )?,
        bits_per_window: p.bits_per_week.unwrap_or(d.bits_per_window),
        ..d
    })
}

/// What `status()` returns.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StatusOut<'a> {
    storage: &'static str,
    code: Option<&'static str>,
    reason: Option<&'a str>,
    quarantined: &'a [String],
    newer_version_stored: bool,
    stored_bytes: usize,
    paused: bool,
    guard: Option<&'static str>,
    min_offers: usize,
    catalogs_per_week: usize,
    catalogs_this_week: usize,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ChooseIn {
    slot: Option<String>,
    context: Option<Vec<String>>,
    count: Option<f64>,
    preview: Option<bool>,
    exclude: Option<Vec<String>>,
}

enum Clock {
    System,
    Fixed(f64),
    Function(Function),
}

impl Clock {
    fn now(&self) -> Millis {
        let t = match self {
            Clock::System => js_sys::Date::now(),
            Clock::Fixed(t) => *t,
            Clock::Function(f) => f
                .call0(&JsValue::NULL)
                .ok()
                .and_then(|v| v.as_f64())
                .unwrap_or_else(js_sys::Date::now),
        };
        if t.is_finite() {
            t as Millis
        } else {
            js_sys::Date::now() as Millis
        }
    }
}

/// Reads an event, saying in the API's words what is wrong (not serde's "expected struct").
fn read_event(v: JsValue) -> Result<Event, JsValue> {
    let shape = "an event is an object { kind, tags?, item?, offer?, terms? }";
    if !v.is_object() || js_sys::Array::is_array(&v) {
        return Err(to_js(Error::new(Code::EventInvalid, shape)));
    }
    let field = |key: &str| Reflect::get(&v, &key.into()).unwrap_or(JsValue::UNDEFINED);
    let kind = field("kind");
    if kind.is_undefined() || kind.is_null() {
        return Err(to_js(Error::at_field(
            Code::EventInvalid,
            "kind",
            format!("missing: one of {}", ts::EventKind::ALL.join(", ")),
        )));
    }
    for (key, what) in [
        ("kind", "a string"),
        ("item", "a string"),
        ("offer", "a string"),
        ("terms", "a string"),
    ] {
        let f = field(key);
        if !(f.is_undefined() || f.is_null() || f.is_string()) {
            return Err(to_js(Error::at_field(
                Code::EventInvalid,
                key,
                format!("must be {what}"),
            )));
        }
    }
    let tags = field("tags");
    let tags_ok = tags.is_undefined()
        || (js_sys::Array::is_array(&tags)
            && js_sys::Array::from(&tags).every(&mut |t, _, _| t.is_string()));
    if !tags_ok {
        return Err(to_js(Error::at_field(
            Code::EventInvalid,
            "tags",
            "must be an array of strings",
        )));
    }
    serde_wasm_bindgen::from_value(v).map_err(|_| to_js(Error::new(Code::EventInvalid, shape)))
}

/// Reads an options object (its keys already checked), and when a value has the wrong type
/// says which option and what it must be, in the API's words rather than serde's
/// ("invalid type: string, expected f64" names no option).
fn read_options<T: serde::de::DeserializeOwned>(v: &JsValue, prefix: &str) -> Result<T, JsValue> {
    serde_wasm_bindgen::from_value(v.clone()).map_err(|e| {
        let check = |alone: JsValue| {
            serde_wasm_bindgen::from_value::<T>(alone)
                .err()
                .map(|e| e.to_string())
        };
        wrong_option(v, prefix, &e.to_string(), &check)
    })
}

/// Finds the option whose value has the wrong type (`check` reads an object holding one
/// option), and says what it must be. Not generic, so that it is in the module once.
fn wrong_option(
    v: &JsValue,
    prefix: &str,
    error: &str,
    check: &dyn Fn(JsValue) -> Option<String>,
) -> JsValue {
    for key in js_sys::Object::keys(v.unchecked_ref::<js_sys::Object>()).iter() {
        let alone = js_sys::Object::new();
        let _ = Reflect::set(&alone, &key, &Reflect::get(v, &key).unwrap_or_default());
        if let Some(e) = check(alone.into()) {
            let what = if e.contains("expected a string") {
                "must be a string"
            } else if e.contains("expected a boolean") {
                "must be true or false"
            } else if e.contains("expected a sequence") {
                "must be an array of strings"
            } else if ["f64", "f32", "u64", "i64", "u32", "usize"]
                .iter()
                .any(|t| e.contains(&format!("expected {t}")))
            {
                "must be a number"
            } else {
                "has the wrong type"
            };
            let field = format!("{prefix}{}", key.as_string().unwrap_or_default());
            return to_js(Error::at_field(Code::OptionsInvalid, &field, what));
        }
    }
    options_error(error)
}

fn options_error(e: impl std::fmt::Display) -> JsValue {
    to_js(Error::new(
        Code::OptionsInvalid,
        format!("invalid options: {e}"),
    ))
}

/// serde-wasm-bindgen reads only the fields it knows, so unknown (misspelt) options are
/// caught here: a typo must not silently fall back to a default.
fn check_keys(v: &JsValue, allowed: &[&str]) -> Result<(), JsValue> {
    if !v.is_object() {
        return Err(options_error("expected an object"));
    }
    for key in js_sys::Object::keys(v.unchecked_ref::<js_sys::Object>()).iter() {
        let key = key.as_string().unwrap_or_default();
        if !allowed.contains(&key.as_str()) {
            return Err(to_js(Error::at_field(
                Code::OptionsInvalid,
                &key,
                format!("unknown option (known: {})", allowed.join(", ")),
            )));
        }
    }
    Ok(())
}

fn days(v: Option<f64>, default: Millis, field: &str) -> Result<Millis, JsValue> {
    match v {
        None => Ok(default),
        Some(d) if d.is_finite() && d > 0.0 => Ok((d * DAY_MS) as Millis),
        Some(d) => Err(to_js(Error::at_field(
            Code::OptionsInvalid,
            field,
            format!("{d} is not a positive number of days"),
        ))),
    }
}

/// The engine: the shopper's profile, decisions, and the shopper's controls.
#[wasm_bindgen]
pub struct Engine {
    inner: Rc<RefCell<CoreEngine>>,
    clock: Rc<Clock>,
    rng: SplitMix64,
    /// Listens for other tabs' writes (the `storage` event) and merges them at once.
    listener: Option<Closure<dyn FnMut(web_sys::StorageEvent)>>,
}

impl Drop for Engine {
    fn drop(&mut self) {
        if let (Some(listener), Some(window)) = (&self.listener, web_sys::window()) {
            let _ = window
                .remove_event_listener_with_callback("storage", listener.as_ref().unchecked_ref());
        }
    }
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

#[wasm_bindgen]
impl Engine {
    /// Opens the shopper's profile in `localStorage`. When `localStorage` cannot be used,
    /// the engine works in memory and `status()` says why; it never throws for that.
    pub fn open(options: Option<EngineOptions>) -> Result<Engine, JsValue> {
        Engine::build(
            options.map(JsValue::from).unwrap_or(JsValue::UNDEFINED),
            true,
        )
    }

    /// An engine that never touches `localStorage`: for tests and previews.
    #[wasm_bindgen(js_name = inMemory)]
    pub fn in_memory(options: Option<EngineOptions>) -> Result<Engine, JsValue> {
        Engine::build(
            options.map(JsValue::from).unwrap_or(JsValue::UNDEFINED),
            false,
        )
    }

    fn build(options: JsValue, persistent: bool) -> Result<Engine, JsValue> {
        let opts: Options = if options.is_undefined() || options.is_null() {
            Options::default()
        } else {
            check_keys(&options, ts::EngineOptions::KEYS)?;
            read_options(&options, "")?
        };
        let clock = match Reflect::get(&options, &"now".into()).unwrap_or(JsValue::UNDEFINED) {
            v if v.is_undefined() || v.is_null() => Clock::System,
            v if v.as_f64().is_some_and(f64::is_finite) => Clock::Fixed(v.as_f64().unwrap_or(0.0)),
            v if v.is_function() => Clock::Function(v.unchecked_into()),
            _ => {
                return Err(to_js(Error::at_field(
                    Code::OptionsInvalid,
                    "now",
                    "must be a number or a function",
                )))
            }
        };
        let defaults = Settings::default();
        let mut sensitive = defaults.sensitive.clone();
        sensitive.extend(
            opts.sensitive
                .unwrap_or_default()
                .into_iter()
                .map(|s| s.to_ascii_lowercase()),
        );
        let settings = Settings {
            sensitive,
            half_life_ms: days(opts.half_life_days, defaults.half_life_ms, "halfLifeDays")?,
            retention_ms: days(opts.retention_days, defaults.retention_ms, "retentionDays")?,
            ..defaults
        };
        let scoring = Scoring {
            exploration: opts.exploration.unwrap_or(Scoring::default().exploration),
            diversity: match opts.diversity {
                None => Scoring::default().diversity,
                Some(d) if d.is_finite() && (0.0..=10.0).contains(&d) => d as f32,
                Some(d) => {
                    return Err(to_js(Error::at_field(
                        Code::OptionsInvalid,
                        "diversity",
                        format!("{d} is not in [0, 10]"),
                    )))
                }
            },
            ..Scoring::default()
        };
        // One draw from the browser's random source: the writer ID (tabs and page loads must
        // not share one, whatever the seed; in force from the engine's first write) and the
        // seed when none is given.
        let mut bytes = [0u8; 12];
        getrandom::fill(&mut bytes).map_err(|e| {
            to_js(Error::new(
                Code::OptionsInvalid,
                format!("no random source: {e}"),
            ))
        })?;
        let writer = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
        let seed = match opts.seed {
            Some(s) if s.is_finite() => s as u64,
            Some(_) => {
                return Err(to_js(Error::at_field(
                    Code::OptionsInvalid,
                    "seed",
                    "must be a finite number",
                )))
            }
            None => u64::from_le_bytes([
                bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
            ]),
        };
        let privacy = privacy_settings(&options)?;
        let namespace = opts.namespace.as_deref().unwrap_or("default");
        let now = clock.now();
        let mut inner = if persistent {
            match LocalStorage::open() {
                Ok(store) => {
                    CoreEngine::open_as(Box::new(store), namespace, settings, scoring, now, writer)
                }
                Err(e) => {
                    CoreEngine::in_memory(namespace, settings, scoring, now).map(|mut eng| {
                        eng.mark_unavailable(e);
                        eng
                    })
                }
            }
        } else {
            CoreEngine::in_memory(namespace, settings, scoring, now)
        }
        .map_err(to_js)?;
        inner.set_privacy(privacy, now).map_err(to_js)?;
        if opts.paused == Some(true) {
            inner.set_paused(true, now);
        }
        inner.set_writer(writer);
        let rng = SplitMix64(seed);
        let listen = inner.status().storage == StorageMode::Local;
        let keys = [
            crate::store::profile_key(inner.namespace()),
            crate::store::privacy_key(inner.namespace()),
        ];
        let inner = Rc::new(RefCell::new(inner));
        let clock = Rc::new(clock);
        let listener = if listen {
            let (engine, clock) = (Rc::downgrade(&inner), clock.clone());
            let listener = Closure::<dyn FnMut(web_sys::StorageEvent)>::new(
                move |event: web_sys::StorageEvent| {
                    // key is null when another tab called localStorage.clear().
                    let key = event.key();
                    if key.as_ref().is_none_or(|k| keys.contains(k)) {
                        if let Some(engine) = engine.upgrade() {
                            if let Ok(mut engine) = engine.try_borrow_mut() {
                                let removed =
                                    key.is_none_or(|k| k == keys[0]) && event.new_value().is_none();
                                if removed {
                                    engine.cleared_elsewhere(clock.now());
                                } else {
                                    engine.sync(clock.now());
                                }
                            }
                        }
                    }
                },
            );
            web_sys::window()
                .and_then(|w| {
                    w.add_event_listener_with_callback("storage", listener.as_ref().unchecked_ref())
                        .ok()
                })
                .map(|_| listener)
        } else {
            None
        };
        Ok(Engine {
            inner,
            clock,
            rng,
            listener,
        })
    }

    /// Records what the shopper did. Throws `event.*` for a malformed event (which changes
    /// nothing); never throws because of storage. Returns false while paused.
    pub fn record(&mut self, event: ShoppingEvent) -> Result<bool, JsValue> {
        let event = read_event(event.into())?;
        let now = self.clock.now();
        self.inner.borrow_mut().record(&event, now).map_err(to_js)
    }

    /// Chooses the offer for a slot, or `undefined` when no offer may be shown.
    pub fn choose(
        &mut self,
        catalog: &Catalog,
        request: Option<ChooseRequest>,
    ) -> Result<Option<Decision>, JsValue> {
        Ok(self.decide(catalog, request, true)?.into_iter().next())
    }

    /// Chooses up to `request.count` distinct, diverse offers.
    #[wasm_bindgen(js_name = chooseMany)]
    pub fn choose_many(
        &mut self,
        catalog: &Catalog,
        request: Option<ChooseRequest>,
    ) -> Result<DecisionsJs, JsValue> {
        let arr = js_sys::Array::new();
        for d in self.decide(catalog, request, false)? {
            arr.push(&d);
        }
        Ok(arr.unchecked_into())
    }

    fn decide(
        &mut self,
        catalog: &Catalog,
        request: Option<ChooseRequest>,
        single: bool,
    ) -> Result<Vec<Decision>, JsValue> {
        let req: ChooseIn = match request.map(JsValue::from) {
            Some(v) if !v.is_undefined() && !v.is_null() => {
                check_keys(&v, ts::ChooseRequest::KEYS)?;
                read_options(&v, "")?
            }
            _ => ChooseIn::default(),
        };
        let count = match req.count {
            None => 1,
            Some(c) if c.is_finite() && c >= 1.0 && c.fract() == 0.0 => (c as usize).min(64),
            Some(c) => {
                return Err(to_js(Error::at_field(
                    Code::OptionsInvalid,
                    "count",
                    format!("{c} is not a whole number ≥ 1"),
                )))
            }
        };
        let mut context = req.context.unwrap_or_default();
        if let Some(slot) = req.slot {
            context.push(format!("slot:{slot}"));
        }
        let now = self.clock.now();
        let request = Request {
            context: &context,
            count: if single { 1 } else { count },
            now,
            exclude: &req.exclude.unwrap_or_default(),
        };
        let mut engine = self.inner.borrow_mut();
        let decisions = engine.choose(
            &catalog.inner,
            &request,
            &mut self.rng,
            !req.preview.unwrap_or(false),
        );
        Ok(decisions
            .iter()
            .map(|d| decision_of(d, &engine, &catalog.inner, &mut self.rng))
            .collect())
    }

    /// The shopper clicked (`"click"`) or dismissed (`"dismiss"`) an offer.
    pub fn feedback(
        &mut self,
        offer_id: &str,
        #[wasm_bindgen(unchecked_param_type = "FeedbackKind")] kind: &str,
    ) -> Result<bool, JsValue> {
        let kind = EventKind::parse(kind).map_err(to_js)?;
        let now = self.clock.now();
        self.inner
            .borrow_mut()
            .feedback(offer_id, kind, now)
            .map_err(to_js)
    }

    /// Sends the report: one POST whose whole body is the offer ID (with noised reports, the
    /// ID drawn by the mechanism), without credentials or referrer, and writes it to the
    /// ledger. Resolves to `true` when the endpoint answered 2xx, to `false` when the privacy
    /// budget is spent (then nothing is sent); rejects with `report.*`.
    #[wasm_bindgen(unchecked_return_type = "Promise<boolean>")]
    pub fn report(&mut self, decision: &Decision, url: String) -> js_sys::Promise {
        if let Err(e) = report::check_url(&url) {
            return js_sys::Promise::reject(&e);
        }
        let Some(body) = report_body(decision) else {
            return js_sys::Promise::reject(&error::js_error(
                Code::OptionsInvalid,
                "report() takes a decision returned by choose() or chooseMany()",
            ));
        };
        let settle = self.inner.borrow().report_needs_settle(&body);
        let (inner, clock) = (self.inner.clone(), self.clock.clone());
        wasm_bindgen_futures::future_to_promise(async move {
            if settle {
                report::sleep(crate::engine::REPORT_SETTLE_MS).await;
            }
            let logged = inner.borrow_mut().log_report(&body, &url, clock.now());
            if logged.is_none() {
                return Ok(JsValue::FALSE);
            }
            report::send(&body, &url).await.map(|()| JsValue::TRUE)
        })
    }

    /// The privacy safeguards: the site's mode, the budget left, the catalog guards, the
    /// sensitive lists and the ledger of every report sent.
    pub fn privacy(&mut self) -> PrivacyViewJs {
        let now = self.clock.now();
        let view: PrivacyView = self.inner.borrow_mut().privacy_view(now);
        to_value(&view).unchecked_into()
    }

    /// Adds a tag namespace (for example `"brand"`) to the shopper's own sensitive list: its
    /// interests are forgotten at once and never recorded again. Returns whether it was new.
    #[wasm_bindgen(js_name = addSensitive)]
    pub fn add_sensitive(&mut self, namespace: &str) -> Result<bool, JsValue> {
        let now = self.clock.now();
        self.inner
            .borrow_mut()
            .add_sensitive(namespace, now)
            .map_err(to_js)
    }

    /// Removes a namespace the shopper added. Returns whether it was there.
    #[wasm_bindgen(js_name = removeSensitive)]
    pub fn remove_sensitive(&mut self, namespace: &str) -> bool {
        let now = self.clock.now();
        self.inner.borrow_mut().remove_sensitive(namespace, now)
    }

    /// The profile as the shopper may see it.
    pub fn profile(&mut self) -> ProfileViewJs {
        let now = self.clock.now();
        let view: ProfileView = self.inner.borrow_mut().view(now);
        to_value(&view).unchecked_into()
    }

    /// Forgets one interest at once. Returns whether it was there.
    pub fn forget(&mut self, tag: &str) -> bool {
        let now = self.clock.now();
        self.inner.borrow_mut().forget(tag, now)
    }

    /// Forgets one item at once. Returns whether it was there.
    #[wasm_bindgen(js_name = forgetItem)]
    pub fn forget_item(&mut self, item: &str) -> bool {
        let now = self.clock.now();
        self.inner.borrow_mut().forget_item(item, now)
    }

    /// Removes every key pocketrank wrote for this namespace and empties the profile.
    /// Returns how many keys were removed.
    pub fn clear(&mut self) -> Result<usize, JsValue> {
        self.inner.borrow_mut().clear().map_err(to_js)
    }

    /// Pauses personalization: nothing is recorded, only the fallback is shown.
    pub fn pause(&mut self) {
        let now = self.clock.now();
        self.inner.borrow_mut().set_paused(true, now);
    }

    /// Resumes personalization.
    pub fn resume(&mut self) {
        let now = self.clock.now();
        self.inner.borrow_mut().set_paused(false, now);
    }

    /// Whether personalization is paused.
    #[wasm_bindgen(getter)]
    pub fn paused(&self) -> bool {
        self.inner.borrow_mut().paused()
    }

    /// The whole profile as JSON text, which `import` reads back.
    pub fn export(&mut self) -> String {
        let now = self.clock.now();
        self.inner.borrow_mut().export(now)
    }

    /// Replaces the profile with an export. Throws `profile.*` and changes nothing when the
    /// text cannot be read.
    pub fn import(&mut self, text: &str) -> Result<(), JsValue> {
        let now = self.clock.now();
        self.inner.borrow_mut().import(text, now).map_err(to_js)
    }

    /// Where the profile lives and why: `storage` is `"local"` or `"memory"`.
    pub fn status(&self) -> EngineStatusJs {
        let engine = self.inner.borrow();
        let s = engine.status();
        to_value(&StatusOut {
            storage: ts::StorageMode::of(&s.storage),
            code: s.reason.as_ref().map(|r| r.code.as_str()),
            reason: s.reason.as_ref().map(|r| r.message.as_str()),
            quarantined: &s.quarantined,
            newer_version_stored: s.newer_version_stored,
            stored_bytes: s.stored_bytes,
            paused: engine.paused(),
            guard: s.guard.map(|g| g.code().as_str()),
            min_offers: engine.privacy().min_offers,
            catalogs_per_week: engine.privacy().catalogs_per_window,
            catalogs_this_week: engine.catalogs_this_week(self.clock.now()),
        })
        .unchecked_into()
    }

    /// The namespace.
    #[wasm_bindgen(getter)]
    pub fn namespace(&self) -> String {
        self.inner.borrow_mut().namespace().to_string()
    }
}

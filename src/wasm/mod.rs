//! The JavaScript package: a thin wasm-bindgen facade over the core.
//!
//! Nothing here decides anything: it converts JS values to core types and back, gives the
//! core a clock, a random source and a store (`localStorage` or memory), and sends the
//! report. Every failure is thrown as a JS `Error` with a stable `code`.

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
use crate::rank::{Decision as CoreDecision, Random, Request, Scoring, SplitMix64};
use crate::Millis;

pub use error::to_js;
pub use storage::LocalStorage;

const DAY_MS: f64 = 86_400_000.0;

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
/** Options of `Engine.open` and `Engine.inMemory`. */
export interface EngineOptions {
  /** Keys are `pocketrank:<namespace>:…`; 1–64 characters of A-Z a-z 0-9 . _ - (default "default"). */
  namespace?: string;
  /** Days for an interest's weight to halve (default 60). */
  halfLifeDays?: number;
  /** Days after which an interest or item not seen again is dropped (default 180). */
  retentionDays?: number;
  /** Probability of showing a random eligible offer instead of the best, per slot, never the first of several (default 0.01). */
  exploration?: number;
  /** More sensitive tag namespaces, never recorded, added to the default list (health, medical,
   * pharmacy, religion, sexuality, sexual-orientation, politics, political, financial-distress,
   * debt, child-data, age): an event with a tag `health:…` teaches nothing about it, nor about its item. */
  sensitive?: string[];
  /** How much several slots avoid similar offers (default 0.5; 0: plain top-k). */
  diversity?: number;
  /** Start paused, for sites that wait for consent; `resume()` starts learning. Never un-pauses a shopper's own pause. */
  paused?: boolean;
  /** Tests: a fixed time (ms since the epoch) or a clock function. */
  now?: number | (() => number);
  /** Tests: seed of the exploration's random numbers (default: from the browser's crypto). */
  seed?: number;
  /** What reports may reveal (see PRIVACY.md). Without it: exact reports, with the catalog guards on. */
  privacy?: PrivacyOptions;
}

/** The privacy options. `epsilon` alone turns on noised reports; `privateChoice` draws the shown offer privately. */
export interface PrivacyOptions {
  /** ε per noised report (or per privately chosen slot), in (0, 20] (default 1 with privateChoice). */
  epsilon?: number;
  /** ε the device may spend per 7 days; beyond it no report is sent (default 8). */
  budgetPerWeek?: number;
  /** Draw the shown offer with the exponential mechanism (ε per slot, from the same budget); the report is that offer. */
  privateChoice?: boolean;
  /** Catalogs with fewer offers are never personalized (default 5). */
  minOffers?: number;
  /** At most this many distinct catalogs (by content) are personalized per 7 days (default 8). */
  catalogsPerWeek?: number;
}

/** What the shopper did. */
export interface ShoppingEvent {
  kind: "view" | "cart" | "purchase" | "search" | "click" | "dismiss";
  /** What it is about, for example `category:running`, `brand:acme`. */
  tags?: string[];
  /** The item (SKU), for view, cart and purchase. */
  item?: string;
  /** The offer, for click and dismiss. */
  offer?: string;
  /** The search text, for search: each word becomes a `search:<word>` tag. */
  terms?: string;
}

/** What a decision is for. */
export interface ChooseRequest {
  /** The placement, for example "home"; offers may target it with the tag `slot:<name>`. */
  slot?: string;
  /** Tags of the page, for example the category being browsed. */
  context?: string[];
  /** How many distinct offers (`chooseMany` only; default 1). */
  count?: number;
  /** Do not count the chosen offers as shown (for previews). */
  preview?: boolean;
  /** Offer IDs not to choose, for example offers already on the page. */
  exclude?: string[];
}

/** One of the shopper's interests. */
export interface InterestView { tag: string; label: string; weight: number; events: Partial<Record<ShoppingEvent["kind"], number>>; firstSeen: number; lastSeen: number; }
/** The shopper's history with one item. */
export interface ItemView { item: string; weight: number; views: number; carts: number; purchases: number; lastSeen: number; lastPurchase: number | null; }
/** An offer as the shopper met it. */
export interface OfferView { offer: string; shown: number; lastShown: number | null; clicks: number; dismissed: number | null; }
/** Everything the profile holds, heaviest first. */
export interface ProfileView { paused: boolean; interests: InterestView[]; items: ItemView[]; offers: OfferView[]; }

/** Where the profile lives, and why. */
export interface EngineStatus {
  storage: "local" | "memory";
  /** Stable code of what happened to storage, or null. */
  code: string | null;
  reason: string | null;
  /** Keys under which unreadable stored values were set aside. */
  quarantined: string[];
  newerVersionStored: boolean;
  storedBytes: number;
  paused: boolean;
  /** Why the latest decision was not personal although it could have been: `privacy.catalog_too_small`, `privacy.too_many_catalogs`, `privacy.budget_spent`, or null. */
  guard: string | null;
  /** The catalog guards: catalogs with fewer offers are never personalized... */
  minOffers: number;
  /** ...and at most this many distinct catalogs are per 7 days... */
  catalogsPerWeek: number;
  /** ...of which this many so far. */
  catalogsThisWeek: number;
}

/** One report that left the device. */
export interface LedgerEntry { time: number; endpoint: string; body: string; mechanism: "exact" | "noised" | "private-choice"; epsilon: number | null; }

/** The privacy safeguards, for the shopper's "your data" page. */
export interface PrivacyView {
  /** What the site receives: the exact offer, a noised one, or a privately chosen one. */
  mode: "exact" | "noised" | "private-choice";
  epsilon: number | null;
  budgetPerWeek: number | null;
  windowDays: number;
  spent: number | null;
  remaining: number | null;
  /** When the oldest spend leaves the window (ms since the epoch). */
  freesAt: number | null;
  minOffers: number;
  catalogsPerWeek: number;
  catalogsThisWeek: number;
  guard: string | null;
  sensitiveDefaults: string[];
  sensitiveSite: string[];
  sensitiveShopper: string[];
  /** Every report sent (the latest 200), latest first. */
  ledger: LedgerEntry[];
}

/** One term of a decision's score. */
export interface Contribution { kind: "interest" | "item" | "related" | "context" | "popularity" | "boost"; label: string; amount: number; }

/** A version-1 catalog as a plain object (see the README for every rule). */
export interface CatalogJson {
  version: 1;
  id?: string;
  offers: OfferJson[];
  fallback?: string;
}
/** One offer of a catalog. */
export interface OfferJson {
  id: string;
  tags?: Record<string, number>;
  items?: string[];
  /** Items most often had with this offer by other shoppers, with similarities in [0, 1] (at most 32). */
  related?: Record<string, number>;
  boost?: number;
  popularity?: number;
  caps?: { perHour?: number; perDay?: number; perWeek?: number; total?: number };
  start?: string;
  end?: string;
  requires?: string[];
  excludes?: string[];
  buyAgain?: boolean;
  creative?: unknown;
}

/** Every error pocketrank throws. */
export interface PocketrankError extends Error { name: "PocketrankError"; code: string; offer?: number; field?: string; }
"#;

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
    /// `unknown` in TypeScript: an opaque creative object.
    #[wasm_bindgen(typescript_type = "unknown")]
    pub type Unknown;
    /// `string[]` in TypeScript.
    #[wasm_bindgen(typescript_type = "string[]")]
    pub type StringsJs;
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
    pub fn creative(&self, offer_id: &str) -> Unknown {
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

/// One chosen offer. Only `offerId` is ever sent anywhere; the explanation stays here.
#[wasm_bindgen]
#[derive(Debug, Clone)]
pub struct Decision {
    offer_id: String,
    /// What a report of this decision carries (the offer ID, or a noised one).
    report_body: String,
    reason: &'static str,
    score: f32,
    explanation: String,
    creative: Option<String>,
    contributions: Vec<ContributionOut>,
}

#[derive(Debug, Clone, Serialize)]
struct ContributionOut {
    kind: &'static str,
    label: String,
    amount: f32,
}

#[wasm_bindgen]
impl Decision {
    /// The chosen offer's ID: the whole body of a report.
    #[wasm_bindgen(getter, js_name = offerId)]
    pub fn offer_id(&self) -> String {
        self.offer_id.clone()
    }

    /// `personal`, `explore`, `fallback` or `popular`.
    #[wasm_bindgen(getter)]
    pub fn reason(&self) -> String {
        self.reason.to_string()
    }

    /// The offer's score.
    #[wasm_bindgen(getter)]
    pub fn score(&self) -> f32 {
        self.score
    }

    /// The offer's creative from the catalog (render it as text), or `undefined`.
    #[wasm_bindgen(getter)]
    pub fn creative(&self) -> Unknown {
        parse_creative(self.creative.as_deref()).unchecked_into()
    }

    /// Why this offer, in the shopper's words. Computed on the device; never sent.
    pub fn explain(&self) -> String {
        self.explanation.clone()
    }

    /// The largest terms of the score.
    pub fn contributions(&self) -> ContributionsJs {
        to_value(&self.contributions).unchecked_into()
    }
}

impl Decision {
    fn of(
        d: &CoreDecision,
        engine: &CoreEngine,
        catalog: &CoreCatalog,
        rng: &mut dyn Random,
    ) -> Decision {
        use crate::rank::Factor;
        let contributions = d
            .contributions
            .iter()
            .map(|c| {
                let (kind, label) = match &c.factor {
                    Factor::Interest(t) => ("interest", t.clone()),
                    Factor::Item(i) => ("item", i.clone()),
                    Factor::Related(i) => ("related", i.clone()),
                    Factor::Context(t) => ("context", t.clone()),
                    Factor::Popularity => ("popularity", String::new()),
                    Factor::Boost => ("boost", String::new()),
                };
                ContributionOut {
                    kind,
                    label,
                    amount: c.amount,
                }
            })
            .collect();
        Decision {
            offer_id: d.offer_id.clone(),
            report_body: engine.report_body(catalog, d, rng),
            reason: d.reason.as_str(),
            score: d.score,
            explanation: engine.explain(d),
            creative: catalog.offer(d.offer).creative.clone(),
            contributions,
        }
    }
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
    check_keys(
        &v,
        &[
            "epsilon",
            "budgetPerWeek",
            "privateChoice",
            "minOffers",
            "catalogsPerWeek",
        ],
    )?;
    let p: PrivacyIn = serde_wasm_bindgen::from_value(v).map_err(options_error)?;
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
        ..d
    })
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
            check_keys(
                &options,
                &[
                    "namespace",
                    "halfLifeDays",
                    "retentionDays",
                    "exploration",
                    "diversity",
                    "sensitive",
                    "paused",
                    "now",
                    "seed",
                    "privacy",
                ],
            )?;
            serde_wasm_bindgen::from_value(options.clone()).map_err(options_error)?
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
        let seed = match opts.seed {
            Some(s) if s.is_finite() => s as u64,
            Some(_) => {
                return Err(to_js(Error::at_field(
                    Code::OptionsInvalid,
                    "seed",
                    "must be a finite number",
                )))
            }
            None => {
                let mut bytes = [0u8; 8];
                getrandom::fill(&mut bytes).map_err(|e| {
                    to_js(Error::new(
                        Code::OptionsInvalid,
                        format!("no random source: {e}; pass a seed"),
                    ))
                })?;
                u64::from_le_bytes(bytes)
            }
        };
        let privacy = privacy_settings(&options)?;
        let namespace = opts.namespace.as_deref().unwrap_or("default");
        let now = clock.now();
        let mut inner = if persistent {
            match LocalStorage::open() {
                Ok(store) => CoreEngine::open(Box::new(store), namespace, settings, scoring, now),
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
        let mut rng = SplitMix64(seed);
        // Tabs must not share a writer ID: draw it from the same random source.
        inner.set_writer(rng.next_u64() as u32);
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
        let event: Event = serde_wasm_bindgen::from_value(event.into())
            .map_err(|e| to_js(Error::new(Code::EventInvalid, format!("not an event: {e}"))))?;
        let now = self.clock.now();
        self.inner.borrow_mut().record(&event, now).map_err(to_js)
    }

    /// Chooses the offer for a slot, or `undefined` when no offer may be shown.
    pub fn choose(
        &mut self,
        catalog: &Catalog,
        request: Option<ChooseRequest>,
    ) -> Result<Option<Decision>, JsValue> {
        let mut many = self.decide(catalog, request, true)?;
        Ok(if many.is_empty() {
            None
        } else {
            Some(many.swap_remove(0))
        })
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
            arr.push(&JsValue::from(d));
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
                check_keys(&v, &["slot", "context", "count", "preview", "exclude"])?;
                serde_wasm_bindgen::from_value(v).map_err(options_error)?
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
            .map(|d| Decision::of(d, &engine, &catalog.inner, &mut self.rng))
            .collect())
    }

    /// The shopper clicked (`"click"`) or dismissed (`"dismiss"`) an offer.
    pub fn feedback(&mut self, offer_id: &str, kind: &str) -> Result<bool, JsValue> {
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
        let now = self.clock.now();
        let body = decision.report_body.clone();
        let logged = self.inner.borrow_mut().log_report(&body, &url, now);
        wasm_bindgen_futures::future_to_promise(async move {
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
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Out<'a> {
            storage: StorageMode,
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
        let engine = self.inner.borrow();
        let s = engine.status();
        to_value(&Out {
            storage: s.storage,
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

//! # pocketrank
//!
//! On-device offer personalization for retail sites. In the shopper's browser, pocketrank
//! keeps an interest profile in `localStorage` only, ranks the catalog of offers the
//! server sends down against it, and sends back nothing but the chosen offer's ID.
//!
//! The core is plain Rust and knows nothing of JavaScript: time and randomness are passed
//! in, storage is a trait. Everything that touches JS lives in the `wasm` module, compiled
//! only for `wasm32`.
//!
//! - [`catalog`]: the offer catalog format, its validation and limits;
//! - [`profile`]: events, decayed interests, item and offer history, the stored form;
//! - [`rank`]: eligibility, scoring, exploration, diversity, explanations;
//! - [`store`]: the storage trait and the in-memory store;
//! - [`engine`]: a profile kept in a store, with the shopper's controls;
//! - [`privacy`]: noised reports, the exponential mechanism, the per-device budget, debiasing;
//! - [`safeguard`]: what the privacy safeguards remember: budget spent, ledger, catalogs seen;
//! - [`error`]: one error type with stable codes.
//!
//! ```
//! use pocketrank::{Catalog, Engine, Event, EventKind, Settings, Scoring, SplitMix64};
//! let catalog = Catalog::from_json(r#"{"version":1,"offers":[
//!   {"id":"RUN-10","tags":{"category:running":1}},
//!   {"id":"BAKE-5","tags":{"category:baking":1}},
//!   {"id":"KNIT-5","tags":{"category:knitting":1}},
//!   {"id":"SAIL-5","tags":{"category:sailing":1}},
//!   {"id":"WELCOME"}]}"#).unwrap(); // catalogs of fewer than 5 offers are never personalized
//! let now = 1_795_910_400_000;
//! let mut engine = Engine::in_memory("shop", Settings::default(), Scoring::default(), now).unwrap();
//! engine.record(&Event::new(EventKind::View, ["category:baking"]), now).unwrap();
//! let mut rng = SplitMix64(7);
//! let request = pocketrank::rank::Request::new(1, now);
//! let decisions = engine.choose(&catalog, &request, &mut rng, true);
//! assert_eq!(decisions[0].offer_id, "BAKE-5");
//! ```
#![deny(missing_docs, missing_debug_implementations)]

pub mod catalog;
pub mod engine;
pub mod error;
mod hash;
pub mod map;
pub mod privacy;
pub mod profile;
pub mod random;
pub mod rank;
pub mod safeguard;
mod sort;
pub mod store;

#[cfg(target_arch = "wasm32")]
pub mod wasm;

/// Milliseconds since the Unix epoch.
pub type Millis = i64;

pub use catalog::Catalog;
pub use engine::{Engine, ProfileView, Status, StorageMode};
pub use error::{Code, Error, Result};
pub use profile::{Event, EventKind, Profile, Settings};
pub use rank::{Decision, Random, Reason, Scoring, SplitMix64};
pub use store::{MemoryStore, ProfileStore};

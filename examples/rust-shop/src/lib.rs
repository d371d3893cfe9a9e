//! What a Rust frontend (Leptos, Yew, Dioxus) writes around pocketrank: a recommender for the
//! shop's components, over pocketrank's Rust API.
//!
//! In the browser it keeps the shopper's profile in `localStorage`
//! ([`Recommender::in_browser`]); its tests give it pocketrank's in-memory store, a fixed
//! clock and a seed ([`Recommender::with_store`]), so that every decision is reproducible.
#![deny(missing_docs)]

use pocketrank::rank::Request;
use pocketrank::{Catalog, Engine, Event, EventKind, ProfileStore, Scoring, Settings, SplitMix64};

/// Milliseconds since the epoch.
pub type Millis = i64;

/// The shop's recommender: one engine, its clock and its random numbers.
pub struct Recommender {
    engine: Engine,
    clock: Box<dyn Fn() -> Millis>,
    rng: SplitMix64,
}

impl std::fmt::Debug for Recommender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recommender")
            .field("engine", &self.engine)
            .finish_non_exhaustive()
    }
}

impl Recommender {
    /// Over any store, with a clock and a seed (tests pass `MemoryStore`, a fixed time and a seed).
    pub fn with_store(
        store: Box<dyn ProfileStore>,
        namespace: &str,
        clock: Box<dyn Fn() -> Millis>,
        seed: u64,
    ) -> pocketrank::Result<Recommender> {
        let now = clock();
        let engine = Engine::open(
            store,
            namespace,
            Settings::default(),
            Scoring::default(),
            now,
        )?;
        Ok(Recommender {
            engine,
            clock,
            rng: SplitMix64(seed),
        })
    }

    /// In the shopper's browser: the profile in `localStorage` (or in memory when the browser
    /// refuses it; [`Recommender::stored`] says which), the browser's clock, a random seed.
    #[cfg(target_arch = "wasm32")]
    pub fn in_browser(namespace: &str) -> pocketrank::Result<Recommender> {
        let now = || js_sys::Date::now() as Millis;
        let seed = (js_sys::Math::random() * 2f64.powi(53)) as u64;
        match pocketrank::wasm::LocalStorage::open() {
            Ok(store) => Recommender::with_store(Box::new(store), namespace, Box::new(now), seed),
            Err(e) => {
                let mut r = Recommender::with_store(
                    Box::new(pocketrank::MemoryStore::new()),
                    namespace,
                    Box::new(now),
                    seed,
                )?;
                r.engine.mark_unavailable(e);
                Ok(r)
            }
        }
    }

    /// The shopper looked at a product page.
    pub fn viewed(&mut self, tags: &[&str], item: &str) -> pocketrank::Result<()> {
        let mut event = Event::new(EventKind::View, tags.iter().copied());
        event.item = Some(item.to_string());
        self.engine.record(&event, (self.clock)()).map(|_| ())
    }

    /// The shopper bought something.
    pub fn bought(&mut self, tags: &[&str]) -> pocketrank::Result<()> {
        let event = Event::new(EventKind::Purchase, tags.iter().copied());
        self.engine.record(&event, (self.clock)()).map(|_| ())
    }

    /// The offer for a slot of the page, as its ID (what a component renders and reports).
    pub fn offer_for(&mut self, catalog: &Catalog, slot: &str) -> Option<String> {
        let now = (self.clock)();
        let context = vec![format!("slot:{slot}")];
        let request = Request {
            context: &context,
            count: 1,
            now,
            exclude: &[],
        };
        let decisions = self.engine.choose(catalog, &request, &mut self.rng, true);
        decisions.into_iter().next().map(|d| d.offer_id)
    }

    /// Whether the profile is kept in the store (`localStorage` in the browser).
    pub fn stored(&self) -> bool {
        self.engine.status().storage == pocketrank::StorageMode::Local
    }

    /// The shopper's "clear everything": removes every key pocketrank wrote.
    pub fn clear(&mut self) -> pocketrank::Result<usize> {
        self.engine.clear()
    }
}

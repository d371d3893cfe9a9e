//! Bounding what reported offer IDs say about the profile.
//!
//! Even a report that is only an offer ID says something: a server that crafts catalogs
//! (one offer tagged with a sensitive interest, the others neutral) learns one answer per
//! report. This module holds the mechanisms that bound it, as plain functions of their
//! inputs (randomness is passed in):
//!
//! - [`noised_report`]: randomized response over the whole catalog. The report is the true
//!   offer with probability `e^ε / (e^ε + K − 1)`, otherwise a uniformly drawn other offer
//!   (K = every offer of the catalog, a set that does not depend on the profile), so each
//!   report is ε-locally-differentially-private with respect to the whole profile.
//! - [`exponential_choice`]: the exponential mechanism over scores normalized to [0, 1], for
//!   sites where the shown offer itself can be observed.
//! - [`Budget`]: ε spent per device over a rolling window; no report once it is spent.
//! - [`debias`]: the retailer's unbiased estimate of true counts from noised reports.
//!
//! The guarantee per window: with a budget `B`, any test an attacker runs on the reports of
//! one window distinguishes two profiles with odds at most `e^B` (sequential composition), so
//! an attacker guessing a sensitive interest with even prior odds succeeds with probability at
//! most `e^B / (1 + e^B)`. See `PRIVACY.md`.

use crate::random::Random;
use crate::Millis;

const DAY: Millis = 86_400_000;

/// The default weekly bound, in bits, of what exact reports can say about a profile.
pub const DEFAULT_BITS_PER_WINDOW: f64 = 24.0;

/// The most a personalized answer of `slots` offers, drawn from `candidates` offers, can
/// carry in bits: each slot is one of the candidates not chosen before, or nothing,
/// `Σ_{j < slots} log2(candidates + 1 − j)`. Zero when there is nothing to choose between.
pub fn answer_bits(candidates: usize, slots: usize) -> f64 {
    (0..slots.min(candidates))
        .map(|j| ((candidates + 1 - j) as f64).log2())
        .sum()
}

/// What a report carries, and how the shown offer is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportMode {
    /// The report is the offer shown, exactly (the default, as the product promises).
    Exact,
    /// The report is randomized response over the whole catalog, ε per report, within the
    /// budget; the shopper still sees the best offer.
    Noised,
    /// The shown offer is drawn by the exponential mechanism, ε per slot, within the budget;
    /// the report is that offer.
    PrivateChoice,
}

/// The privacy options, with their documented defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct PrivacySettings {
    /// What a report carries.
    pub mode: ReportMode,
    /// ε spent by one noised report (or one privately chosen slot).
    pub epsilon_per_report: f64,
    /// ε a device may spend per window; no report is sent beyond it.
    pub budget_per_window: f64,
    /// The rolling window of the budget and of the catalog guard.
    pub window_ms: Millis,
    /// Catalogs with fewer offers are never personalized.
    pub min_offers: usize,
    /// At most this many distinct catalogs (by content hash) are personalized per window.
    pub catalogs_per_window: usize,
    /// With exact reports: the most bits the personalized answers of one window may carry
    /// (each new question costs log2 of the number of answers it could have had; see
    /// [`answer_bits`]). Beyond it, decisions are made without the profile.
    pub bits_per_window: f64,
}

impl Default for PrivacySettings {
    fn default() -> Self {
        PrivacySettings {
            mode: ReportMode::Exact,
            epsilon_per_report: 1.0,
            budget_per_window: 8.0,
            window_ms: 7 * DAY,
            min_offers: 5,
            catalogs_per_window: 8,
            bits_per_window: DEFAULT_BITS_PER_WINDOW,
        }
    }
}

impl PrivacySettings {
    /// Whether something done at `t` still counts in the window ending at `now`: the one
    /// window rule of every bound (spends, bits, catalogs, remembered answers). Anything dated
    /// after `now` (a clock set back) still counts: setting the clock back never frees a bound.
    pub fn in_window(&self, t: Millis, now: Millis) -> bool {
        now - t < self.window_ms
    }

    /// Checks ranges: ε in (0, 20], a budget of at least one ε and at most 1,000, at least
    /// one catalog per window, `min_offers` of at least 1.
    pub fn validate(&self) -> crate::Result<()> {
        use crate::error::{Code, Error};
        let e = self.epsilon_per_report;
        if !(e.is_finite() && e > 0.0 && e <= 20.0) {
            return Err(Error::at_field(
                Code::OptionsInvalid,
                "privacy.epsilon",
                format!("{e} is not in (0, 20]"),
            ));
        }
        let b = self.budget_per_window;
        if !(b.is_finite() && b >= e && b <= 1000.0) {
            return Err(Error::at_field(
                Code::OptionsInvalid,
                "privacy.budgetPerWeek",
                format!("{b} is not from epsilon ({e}) to 1000"),
            ));
        }
        if self.min_offers < 1 || self.min_offers > 50_000 {
            return Err(Error::at_field(
                Code::OptionsInvalid,
                "privacy.minOffers",
                "must be a whole number from 1 to 50000",
            ));
        }
        if self.catalogs_per_window < 1 || self.catalogs_per_window > 10_000 {
            return Err(Error::at_field(
                Code::OptionsInvalid,
                "privacy.catalogsPerWeek",
                "must be a whole number from 1 to 10000",
            ));
        }
        let b = self.bits_per_window;
        // Unbounded (infinity) is for measuring the ranking itself, as `replay` does.
        if !((0.0..=1000.0).contains(&b) || b == f64::INFINITY) {
            return Err(Error::at_field(
                Code::OptionsInvalid,
                "privacy.bitsPerWeek",
                format!("{b} is not from 0 to 1000"),
            ));
        }
        if self.window_ms < 60_000 {
            return Err(Error::at_field(
                Code::OptionsInvalid,
                "privacy.window",
                "must be at least a minute",
            ));
        }
        Ok(())
    }
}

/// Probability that a noised report carries the true offer, with `k` offers in the catalog.
pub fn truth_probability(epsilon: f64, k: usize) -> f64 {
    if k <= 1 {
        return 1.0;
    }
    let e = epsilon.exp();
    e / (e + (k - 1) as f64)
}

/// The offer index to report for the chosen offer `chosen` of a catalog of `k` offers.
pub fn noised_report(chosen: usize, k: usize, epsilon: f64, rng: &mut dyn Random) -> usize {
    if k <= 1 || rng.next_f64() < truth_probability(epsilon, k) {
        return chosen;
    }
    // Uniform among the k − 1 others.
    let other = rng.below(k - 1);
    if other >= chosen {
        other + 1
    } else {
        other
    }
}

/// Draws an index with probability ∝ exp(ε · s / 2), where s are the scores normalized to
/// [0, 1] (min → 0, max → 1; all equal → uniform). Sensitivity 1, so the choice is ε-DP.
pub fn exponential_choice(scores: &[f32], epsilon: f64, rng: &mut dyn Random) -> Option<usize> {
    if scores.is_empty() {
        return None;
    }
    let (lo, hi) = scores
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &s| {
            (a.min(s), b.max(s))
        });
    let span = (hi - lo) as f64;
    let weights: Vec<f64> = scores
        .iter()
        .map(|&s| {
            let u = if span > 0.0 {
                (s - lo) as f64 / span
            } else {
                0.0
            };
            (epsilon * u / 2.0).exp()
        })
        .collect();
    let total: f64 = weights.iter().sum();
    let mut x = rng.next_f64() * total;
    for (i, w) in weights.iter().enumerate() {
        if x < *w {
            return Some(i);
        }
        x -= w;
    }
    Some(scores.len() - 1)
}

/// ε spent at one time.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Spend {
    /// Unique to the tab and the spend (so that two tabs' copies merge as sets).
    pub id: u64,
    /// When.
    pub t: Millis,
    /// How much.
    pub e: f64,
}

/// ε spent by one device, report by report, over a rolling window.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Budget {
    /// Each spend still inside the window.
    pub spent: Vec<Spend>,
}

impl Budget {
    fn inside<'a>(
        &'a self,
        now: Millis,
        settings: &'a PrivacySettings,
    ) -> impl Iterator<Item = &'a Spend> {
        self.spent
            .iter()
            .filter(move |s| settings.in_window(s.t, now))
    }

    /// ε spent within the window ending at `now`.
    pub fn spent_at(&self, now: Millis, settings: &PrivacySettings) -> f64 {
        self.inside(now, settings).map(|s| s.e).sum()
    }

    /// Whether what was spent in the window ending at `now`, plus `amount`, stays within
    /// `limit`: the one rule of every budget (ε and bits).
    pub fn fits_within(
        &self,
        amount: f64,
        limit: f64,
        now: Millis,
        settings: &PrivacySettings,
    ) -> bool {
        self.spent_at(now, settings) + amount <= limit + 1e-9
    }

    /// Spends `amount` at `now` (as spend `id`) if what was spent in the window plus it stays
    /// within `limit`; whether it did. [`Budget::try_spend`] with the ε budget's limit.
    pub fn try_spend_within(
        &mut self,
        id: u64,
        amount: f64,
        limit: f64,
        now: Millis,
        settings: &PrivacySettings,
    ) -> bool {
        self.prune(now, settings);
        if !self.fits_within(amount, limit, now, settings) {
            return false;
        }
        self.spent.push(Spend {
            id,
            t: now,
            e: amount,
        });
        true
    }

    /// Whether spend `id` is within `limit` in the order of the window ending at `now` (by
    /// time, then ID): tabs that spent at once from the same remaining bits, each before
    /// seeing the others' spends, agree which of them the limit holds. A spend no longer
    /// listed (out of the window, or merged with an older one) is within.
    pub fn holds(&self, id: u64, limit: f64, now: Millis, settings: &PrivacySettings) -> bool {
        let mut inside: Vec<&Spend> = self.inside(now, settings).collect();
        crate::sort::sort_by_key(&mut inside, |s| (s.t, s.id));
        let mut sum = 0.0;
        for s in inside {
            sum += s.e;
            if s.id == id {
                return sum <= limit + 1e-9;
            }
        }
        true
    }

    /// ε left in the window ending at `now`.
    pub fn remaining(&self, now: Millis, settings: &PrivacySettings) -> f64 {
        (settings.budget_per_window - self.spent_at(now, settings)).max(0.0)
    }

    /// When the oldest spend inside the window leaves it (and frees its ε).
    pub fn frees_at(&self, now: Millis, settings: &PrivacySettings) -> Option<Millis> {
        self.inside(now, settings)
            .map(|s| s.t + settings.window_ms)
            .min()
    }

    /// Drops the spends that left the window.
    pub fn prune(&mut self, now: Millis, settings: &PrivacySettings) {
        self.spent.retain(|s| settings.in_window(s.t, now));
    }

    /// Spends `epsilon` at `now` (as spend `id`) if the window allows it; whether it did.
    pub fn try_spend(
        &mut self,
        id: u64,
        epsilon: f64,
        now: Millis,
        settings: &PrivacySettings,
    ) -> bool {
        self.try_spend_within(id, epsilon, settings.budget_per_window, now, settings)
    }

    /// Adds the spends of `other` this one lacks (by ID); whether any was added.
    pub fn merge(&mut self, other: &Budget) -> bool {
        let before = self.spent.len();
        for s in &other.spent {
            if !self.spent.iter().any(|x| x.id == s.id) {
                self.spent.push(s.clone());
            }
        }
        self.spent.len() != before
    }
}

/// An unbiased estimate of how often each offer was truly shown, with its standard error,
/// from `counts[j]` noised reports of offer j (n = Σ counts) of a catalog of `counts.len()`
/// offers: `t̂_j = (c_j − n·q) / (p − q)`, p = e^ε/(e^ε + K − 1), q = 1/(e^ε + K − 1).
pub fn debias(counts: &[u64], epsilon: f64) -> Vec<(f64, f64)> {
    let k = counts.len();
    let n: u64 = counts.iter().sum();
    if k <= 1 || n == 0 {
        return counts.iter().map(|&c| (c as f64, 0.0)).collect();
    }
    let p = truth_probability(epsilon, k);
    let q = (1.0 - p) / (k - 1) as f64;
    let n = n as f64;
    counts
        .iter()
        .map(|&c| {
            let c = c as f64;
            let pi = c / n;
            (
                (c - n * q) / (p - q),
                (n * pi * (1.0 - pi)).sqrt() / (p - q),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::SplitMix64;

    #[test]
    fn the_budget_refuses_beyond_the_window_and_frees_after_it() {
        let s = PrivacySettings::default();
        let mut b = Budget::default();
        for i in 0..8 {
            assert!(b.try_spend(i as u64, 1.0, i, &s));
        }
        assert!(!b.try_spend(8, 1.0, 100, &s));
        assert!(
            b.try_spend(9, 1.0, s.window_ms + 1, &s),
            "the first report left the window"
        );
    }

    #[test]
    fn exponential_choice_prefers_the_best_but_not_always() {
        let mut rng = SplitMix64(3);
        let scores = [0.0, 0.5, 1.0];
        let mut n = [0usize; 3];
        for _ in 0..30_000 {
            n[exponential_choice(&scores, 2.0, &mut rng).unwrap()] += 1;
        }
        // Weights e^0, e^0.5, e^1 (ε = 2): 0.186, 0.307, 0.506.
        let expect = [0.186, 0.307, 0.506];
        for i in 0..3 {
            assert!((n[i] as f64 / 30_000.0 - expect[i]).abs() < 0.015, "{n:?}");
        }
    }
}

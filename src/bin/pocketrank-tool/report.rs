//! What `pocketrank-tool replay` reports: each method's hits per trial, HR@k with 95%
//! intervals, and the engine's ratio and difference to each baseline from a paired bootstrap
//! over shoppers; as a markdown table or CSV.

use std::collections::HashSet;
use std::fmt::Write as _;

use pocketrank::rank::{Random, SplitMix64};

/// What one method scored: per trial, which of HR@1, HR@5, HR@10 it hit (bits 0, 1, 2).
#[derive(Debug, Clone, Default)]
pub struct Score {
    pub outcomes: Vec<u8>,
    pub shown: HashSet<usize>,
    /// Decisions with at least one offer the profile chose (the engine's only).
    pub personal: usize,
}

impl Score {
    pub(crate) fn add(&mut self, ranked: &[usize], hit: &dyn Fn(usize) -> bool) {
        let mut bits = 0u8;
        for (slot, k) in [1usize, 5, 10].into_iter().enumerate() {
            if ranked.iter().take(k).any(|&o| hit(o)) {
                bits |= 1 << slot;
            }
        }
        self.outcomes.push(bits);
        self.shown.extend(ranked.iter().take(10));
    }
    pub fn trials(&self) -> usize {
        self.outcomes.len()
    }
    pub fn hits(&self, slot: usize) -> usize {
        self.outcomes
            .iter()
            .filter(|&&b| b & (1 << slot) != 0)
            .count()
    }
    pub fn hr(&self, slot: usize) -> f64 {
        self.hits(slot) as f64 / self.trials().max(1) as f64
    }
}

/// A figure with its 95% interval.
#[derive(Debug, Clone, Copy, Default)]
pub struct Interval {
    pub value: f64,
    pub low: f64,
    pub high: f64,
}

/// Results per method, in a fixed order: the engine first, then the baselines.
pub struct Report {
    pub methods: Vec<(String, Score)>,
    /// For each trial, the shopper it belongs to (the bootstrap resamples shoppers).
    pub shopper: Vec<u32>,
    pub catalog_size: usize,
    /// Per method: HR@1 and HR@10 with 95% intervals.
    pub hr: Vec<[Interval; 2]>,
    /// Per method: the engine's HR@1 and HR@10 divided by the method's, with 95% intervals
    /// from a paired bootstrap (the same resampled shoppers for both).
    pub ratio: Vec<[Interval; 2]>,
    /// Per method: the engine's HR@1 and HR@10 minus the method's, likewise.
    pub difference: Vec<[Interval; 2]>,
}

/// Bootstrap resamples.
const RESAMPLES: usize = 1000;

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let k = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[k.min(sorted.len() - 1)]
}

impl Report {
    /// Paired bootstrap over shoppers: a shopper's trials (next-basket: several) go together,
    /// since they are not independent. Every method sees the same resamples.
    pub(crate) fn bootstrap(&mut self, seed: u64) {
        let n_shoppers = self
            .shopper
            .iter()
            .map(|&s| s as usize + 1)
            .max()
            .unwrap_or(0);
        let mut trials_of: Vec<Vec<usize>> = vec![Vec::new(); n_shoppers];
        for (t, &s) in self.shopper.iter().enumerate() {
            trials_of[s as usize].push(t);
        }
        let m = self.methods.len();
        // hits[method][slot] per resample, and trials per resample.
        let mut samples: Vec<[Vec<f64>; 2]> = vec![[Vec::new(), Vec::new()]; m];
        let mut ratios: Vec<[Vec<f64>; 2]> = vec![[Vec::new(), Vec::new()]; m];
        let mut diffs: Vec<[Vec<f64>; 2]> = vec![[Vec::new(), Vec::new()]; m];
        let mut rng = SplitMix64(seed ^ 0xb007_5eed);
        let mut hits = vec![[0usize; 2]; m];
        for _ in 0..RESAMPLES {
            let mut trials = 0usize;
            hits.iter_mut().for_each(|h| *h = [0, 0]);
            for _ in 0..n_shoppers {
                let s = rng.below(n_shoppers.max(1));
                for &t in &trials_of[s] {
                    trials += 1;
                    for (k, (_, sc)) in self.methods.iter().enumerate() {
                        let b = sc.outcomes[t];
                        hits[k][0] += (b & 1) as usize;
                        hits[k][1] += ((b >> 2) & 1) as usize;
                    }
                }
            }
            let trials = trials.max(1) as f64;
            for k in 0..m {
                for slot in 0..2 {
                    let hr = hits[k][slot] as f64 / trials;
                    let engine = hits[0][slot] as f64 / trials;
                    samples[k][slot].push(hr);
                    diffs[k][slot].push(engine - hr);
                    ratios[k][slot].push(if hr > 0.0 { engine / hr } else { f64::NAN });
                }
            }
        }
        let interval = |value: f64, v: &mut Vec<f64>| {
            v.retain(|x| x.is_finite());
            v.sort_by(f64::total_cmp);
            Interval {
                value,
                low: percentile(v, 0.025),
                high: percentile(v, 0.975),
            }
        };
        self.hr.clear();
        self.ratio.clear();
        self.difference.clear();
        for k in 0..m {
            let sc = &self.methods[k].1;
            let e = &self.methods[0].1;
            let mut h = [Interval::default(); 2];
            let mut r = [Interval::default(); 2];
            let mut d = [Interval::default(); 2];
            for (slot, hr_slot) in [(0usize, 0usize), (1, 2)] {
                let (ev, bv) = (e.hr(hr_slot), sc.hr(hr_slot));
                h[slot] = interval(bv, &mut samples[k][slot]);
                r[slot] = interval(
                    if bv > 0.0 { ev / bv } else { f64::NAN },
                    &mut ratios[k][slot],
                );
                d[slot] = interval(ev - bv, &mut diffs[k][slot]);
            }
            self.hr.push(h);
            self.ratio.push(r);
            self.difference.push(d);
        }
    }

    pub fn table(&self, title: &str) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "{title}");
        let _ = writeln!(
            s,
            "| method | trials | HR@1 [95% interval] | HR@5 | HR@10 [95% interval] | coverage |"
        );
        let _ = writeln!(s, "| --- | ---: | ---: | ---: | ---: | ---: |");
        for (k, (name, sc)) in self.methods.iter().enumerate() {
            let [h1, h10] = self.hr[k];
            let _ = writeln!(
                s,
                "| {name} | {} | {:.4} [{:.4}, {:.4}] | {:.4} | {:.4} [{:.4}, {:.4}] | {:.3} |",
                sc.trials(),
                h1.value,
                h1.low,
                h1.high,
                sc.hr(1),
                h10.value,
                h10.low,
                h10.high,
                sc.shown.len() as f64 / self.catalog_size.max(1) as f64
            );
        }
        if let Some((_, e)) = self.methods.first() {
            let _ = writeln!(
                s,
                "\nengine decisions personal (the profile chose at least one offer): {:.3}",
                e.personal as f64 / e.trials().max(1) as f64
            );
        }
        let _ = writeln!(s);
        let _ = writeln!(
            s,
            "| engine ÷ method | HR@1 [95% interval] | HR@10 [95% interval] | engine − method, HR@1 | HR@10 |"
        );
        let _ = writeln!(s, "| --- | ---: | ---: | ---: | ---: |");
        let ratio = |r: Interval| {
            if r.value.is_finite() {
                format!("{:.3} [{:.3}, {:.3}]", r.value, r.low, r.high)
            } else {
                "— (no hit)".to_string()
            }
        };
        for (k, (name, _)) in self.methods.iter().enumerate().skip(1) {
            let [r1, r10] = self.ratio[k];
            let [d1, d10] = self.difference[k];
            let _ = writeln!(
                s,
                "| {name} | {} | {} | {:+.4} [{:+.4}, {:+.4}] | {:+.4} [{:+.4}, {:+.4}] |",
                ratio(r1),
                ratio(r10),
                d1.value,
                d1.low,
                d1.high,
                d10.value,
                d10.low,
                d10.high
            );
        }
        s
    }

    /// One line per method: name, trials, HR@1, HR@5, HR@10, offers shown, then HR@1 low,
    /// high, HR@10 low, high, and the engine ÷ method ratio at HR@1 and HR@10, each with its
    /// low and high.
    pub fn csv(&self) -> String {
        let mut s = String::new();
        for (k, (name, sc)) in self.methods.iter().enumerate() {
            let [h1, h10] = self.hr[k];
            let [r1, r10] = self.ratio[k];
            let _ = writeln!(
                s,
                "{name},{},{:.5},{:.5},{:.5},{},{:.5},{:.5},{:.5},{:.5},{:.5},{:.5},{:.5},{:.5},{:.5},{:.5}",
                sc.trials(),
                sc.hr(0),
                sc.hr(1),
                sc.hr(2),
                sc.shown.len(),
                h1.low,
                h1.high,
                h10.low,
                h10.high,
                r1.value,
                r1.low,
                r1.high,
                r10.value,
                r10.low,
                r10.high
            );
        }
        s
    }
}

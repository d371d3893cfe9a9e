//! The probing-attack audit (`pocketrank-tool audit`): a simulated server that probes one
//! sensitive interest with crafted catalogs, against the real engine, with and without noise
//! and the per-window budget. A measurement tool, not part of the library's API.

use pocketrank::catalog::Catalog;
use pocketrank::privacy::{noised_report, truth_probability, PrivacySettings};
use pocketrank::profile::{Event, EventKind, Profile, Settings};
use pocketrank::rank::{choose, choose_private, Request, Scoring, SplitMix64};

/// One row of the probing-attack audit: the attacker's success after `reports` reports.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AuditRow {
    /// Reports the attacker asked for.
    pub reports: usize,
    /// Success with exact reports (the default report).
    pub exact: f64,
    /// Success with noised reports and no budget.
    pub noised: f64,
    /// Success with noised reports and the per-window budget.
    pub budgeted: f64,
    /// Success with private choice (the shown offer drawn by the exponential mechanism, ε
    /// per draw) and the per-window budget; the report is the shown offer.
    pub private: f64,
    /// The bound `e^B / (1 + e^B)` for the ε actually spent with the budget.
    pub bound: f64,
}

/// Simulates the probing attack against the real engine: a server sends catalogs of `k`
/// offers, one tagged with a sensitive interest and the others neutral, to shoppers of whom
/// half hold that interest, collects their reports, and guesses with the optimal
/// (likelihood-ratio) test. Returns the attacker's success rate per number of reports.
pub(crate) fn probing_attack(
    k: usize,
    settings: &PrivacySettings,
    report_counts: &[usize],
    shoppers: usize,
    seed: u64,
) -> Vec<AuditRow> {
    let k = k.max(2);
    let mut offers =
        vec![r#"{"id":"PROBE","tags":{"category:maternity":1},"popularity":0}"#.to_string()];
    for i in 1..k {
        offers.push(format!(
            r#"{{"id":"NEUTRAL-{i}","tags":{{"category:running":0.2}},"popularity":0.3}}"#
        ));
    }
    let catalog = Catalog::from_json(&format!(
        r#"{{"version":1,"offers":[{}]}}"#,
        offers.join(",")
    ))
    .expect("the audit catalog");
    let probe = catalog.find("PROBE").expect("probe");
    let now = 1_795_910_400_000;
    let s = Settings::default();
    let scoring = Scoring {
        exploration: 0.0,
        ..Scoring::default()
    };
    let mut rng = SplitMix64(seed);
    let eps = settings.epsilon_per_report;
    let (p, q) = {
        let p = truth_probability(eps, k);
        (p, (1.0 - p) / (k - 1) as f64)
    };
    let max_reports = report_counts.iter().copied().max().unwrap_or(0);
    let budget_reports = (settings.budget_per_window / eps + 1e-9).floor() as usize;
    let guess = |probes: usize, n: usize, p: f64, q: f64| -> bool {
        // Likelihood ratio of "holds the interest" (a probe report has probability p) against
        // "does not" (probability q); ties guessed as "does not".
        let llr = probes as f64 * (p / q).ln() + (n - probes) as f64 * ((1.0 - p) / (1.0 - q)).ln();
        llr > 0.0
    };
    let shopper_profile = |sensitive: bool| {
        let mut profile = Profile::new();
        let mut tags = vec!["category:running"];
        if sensitive {
            tags.push("category:maternity");
        }
        for tag in tags {
            profile
                .record(&Event::new(EventKind::Purchase, [tag]), now, &s)
                .expect("event");
        }
        profile
    };
    let req = Request::new(1, now);
    // Private choice: the probe's probability of being drawn for a holder and for anyone else,
    // from the engine's own scores, normalized as the mechanism does (the attacker knows them).
    let probe_probability = |profile: &Profile| {
        let all = Request::new(k, now);
        let scored = choose(&catalog, profile, &s, &scoring, &all, &mut SplitMix64(0));
        let (lo, hi) = scored
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), d| {
                (a.min(d.score as f64), b.max(d.score as f64))
            });
        let weight = |score: f32| {
            let u = if hi > lo {
                (score as f64 - lo) / (hi - lo)
            } else {
                0.0
            };
            (eps * u / 2.0).exp()
        };
        let total: f64 = scored.iter().map(|d| weight(d.score)).sum();
        scored
            .iter()
            .find(|d| d.offer == probe)
            .map_or(0.0, |d| weight(d.score) / total)
    };
    let (p_holder, p_other) = (
        probe_probability(&shopper_profile(true)),
        probe_probability(&shopper_profile(false)),
    );
    let mut rows: Vec<AuditRow> = report_counts
        .iter()
        .map(|&r| AuditRow {
            reports: r,
            exact: 0.0,
            noised: 0.0,
            budgeted: 0.0,
            private: 0.0,
            bound: 0.0,
        })
        .collect();
    for shopper in 0..shoppers {
        let sensitive = shopper % 2 == 0;
        let profile = shopper_profile(sensitive);
        let shown = choose(&catalog, &profile, &s, &scoring, &req, &mut rng)[0].offer;
        // The attacker's view: the exact reports, and the noised ones in order.
        let noised: Vec<bool> = (0..max_reports)
            .map(|_| noised_report(shown, k, eps, &mut rng) == probe)
            .collect();
        // With private choice each shown (and reported) offer is a fresh draw, within the budget.
        let drawn: Vec<bool> = (0..max_reports.min(budget_reports))
            .map(|_| {
                choose_private(&catalog, &profile, &s, &scoring, &req, eps, &mut rng)[0].offer
                    == probe
            })
            .collect();
        for row in rows.iter_mut() {
            let exact_guess = row.reports > 0 && shown == probe;
            let n = row.reports;
            let noised_guess = guess(noised[..n].iter().filter(|&&x| x).count(), n, p, q);
            let m = n.min(budget_reports);
            let budgeted_guess = guess(noised[..m].iter().filter(|&&x| x).count(), m, p, q);
            let private_guess = guess(
                drawn[..m].iter().filter(|&&x| x).count(),
                m,
                p_holder,
                p_other,
            );
            for (hit, slot) in [
                (exact_guess, &mut row.exact),
                (noised_guess, &mut row.noised),
                (budgeted_guess, &mut row.budgeted),
                (private_guess, &mut row.private),
            ] {
                if hit == sensitive {
                    *slot += 1.0 / shoppers as f64;
                }
            }
        }
    }
    for row in rows.iter_mut() {
        let spent = row.reports.min(budget_reports) as f64 * eps;
        row.bound = spent.exp() / (1.0 + spent.exp());
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_probing_attack_stays_under_the_budget_bound_and_wins_without_noise() {
        let settings = PrivacySettings {
            epsilon_per_report: 0.5,
            budget_per_window: 2.0,
            ..PrivacySettings::default()
        };
        let rows = probing_attack(5, &settings, &[1, 4, 16, 64, 256], 4000, 99);
        for r in &rows {
            assert!(r.exact > 0.999, "exact reports give the answer away: {r:?}");
            // Sampling error of a rate over 4000 shoppers: at most about 0.8% at 3 sigma.
            assert!(r.budgeted <= r.bound + 0.025, "{r:?}");
            assert!(r.private <= r.bound + 0.025, "{r:?}");
        }
        let last = rows.last().unwrap();
        assert!(
            last.noised > 0.95,
            "without a budget many reports reveal it: {last:?}"
        );
        assert!(
            last.budgeted < 0.85,
            "with the budget they do not: {last:?}"
        );
    }
}

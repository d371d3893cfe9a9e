//! The privacy mechanisms, checked statistically with fixed seeds.
#![cfg(not(target_arch = "wasm32"))]

use pocketrank::privacy::{debias, noised_report, truth_probability};
use pocketrank::rank::SplitMix64;

#[test]
fn noised_reports_follow_the_mechanism_chi_square() {
    // K = 6 offers, the shopper's offer is 2, ε = 1: p = e/(e+5) for 2, (1-p)/5 for each other.
    let (k, chosen, eps, n) = (6usize, 2usize, 1.0f64, 60_000usize);
    let mut rng = SplitMix64(2026);
    let mut counts = vec![0f64; k];
    for _ in 0..n {
        counts[noised_report(chosen, k, eps, &mut rng)] += 1.0;
    }
    let p = truth_probability(eps, k);
    let expected: Vec<f64> = (0..k)
        .map(|j| {
            n as f64
                * if j == chosen {
                    p
                } else {
                    (1.0 - p) / (k - 1) as f64
                }
        })
        .collect();
    let chi2: f64 = counts
        .iter()
        .zip(&expected)
        .map(|(o, e)| (o - e) * (o - e) / e)
        .sum();
    // 5 degrees of freedom: the 0.1% critical value is 20.52.
    assert!(
        chi2 < 20.52,
        "chi-square {chi2:.2}, counts {counts:?}, expected {expected:?}"
    );
    // And the mechanism is what it claims: the odds of any report between two profiles
    // (chosen offer a or b) are at most e^ε.
    let ratio = p / ((1.0 - p) / (k - 1) as f64);
    assert!((ratio - eps.exp()).abs() < 1e-9);
}

#[test]
fn debiased_counts_recover_the_true_impressions_within_their_intervals() {
    let k = 8;
    let truth = [5000u64, 3000, 1000, 500, 300, 150, 50, 0];
    let eps = 1.0;
    let mut rng = SplitMix64(7);
    let mut reported = vec![0u64; k];
    for (offer, &n) in truth.iter().enumerate() {
        for _ in 0..n {
            reported[noised_report(offer, k, eps, &mut rng)] += 1;
        }
    }
    let estimates = debias(&reported, eps);
    let mut inside = 0;
    for (j, &(est, se)) in estimates.iter().enumerate() {
        if (est - truth[j] as f64).abs() <= 2.58 * se {
            inside += 1;
        }
    }
    // 99% intervals: all 8 are expected to hold; one miss is allowed by chance.
    assert!(inside >= 7, "{estimates:?} vs {truth:?}");
    let total: f64 = estimates.iter().map(|e| e.0).sum();
    assert!(
        (total - truth.iter().sum::<u64>() as f64).abs() < 1e-6,
        "the estimates add up to n"
    );
}

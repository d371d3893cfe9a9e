//! The adaptive attack suite on exact reports (`pocketrank-tool attacks`, the code of which
//! lives in the tool): one attacker per lever a site controls, and all together, each
//! recovering bits about 40 interests from report bodies alone over a week. Every attacker
//! must stay within the stated weekly bound, and the levers that carry information must
//! recover far more with the bound off, so that the bound is what stops them.
#![cfg(not(target_arch = "wasm32"))]

use std::process::Command;

#[test]
fn every_adaptive_attacker_stays_within_the_weekly_bound_that_stops_it() {
    let out = Command::new(env!("CARGO_BIN_EXE_pocketrank-tool"))
        .args(["attacks", "40", "60"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    println!("{text}");
    let rows: Vec<(String, f64, f64, f64)> = text
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| lever") && !l.starts_with("| ---"))
        .map(|l| {
            let f: Vec<&str> = l.trim_matches('|').split('|').map(str::trim).collect();
            (
                f[0].to_string(),
                f[1].parse().unwrap(),
                f[2].parse().unwrap(),
                f[3].parse().unwrap(),
            )
        })
        .collect();
    let levers: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(
        levers,
        [
            "caps", "exclude", "count", "context", "dates", "catalogs", "tabs", "preview", "days",
            "all"
        ]
    );
    for (lever, unbounded, bounded, bound) in &rows {
        // The estimate's own bias is about half a bit here (40 interests, 60 shoppers).
        assert!(
            *bounded <= *bound,
            "{lever}: {bounded} bits recovered, the bound is {bound}"
        );
        if ["exclude", "context", "tabs", "preview", "days"].contains(&lever.as_str()) {
            assert!(
                *unbounded > bound + 10.0,
                "{lever}: the attack is real ({unbounded} bits without the bound)"
            );
        }
    }
}

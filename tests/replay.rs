//! The replay harness on a small committed pair of files (the real data is never committed):
//! it must run end to end and its engine must do better than chance.
#![cfg(not(target_arch = "wasm32"))]

use std::process::Command;

fn replay(args: &[&str]) -> Vec<(String, usize, f64, f64, f64)> {
    let out = Command::new(env!("CARGO_BIN_EXE_pocketrank-tool"))
        .arg("replay")
        .args([
            "--interactions",
            "tests/fixtures/replay-smoke.interactions.csv",
            "--tags",
            "tests/fixtures/replay-smoke.tags.csv",
            "--csv",
        ])
        .args(args)
        .output()
        .expect("run pocketrank-tool");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (
                f[0].to_string(),
                f[1].parse().unwrap(),
                f[2].parse().unwrap(),
                f[3].parse().unwrap(),
                f[4].parse().unwrap(),
            )
        })
        .collect()
}

#[test]
fn the_replay_scores_the_engine_and_every_baseline_on_the_same_trials() {
    for offers in ["tag:category:", "items"] {
        let rows = replay(&[
            "--offers",
            offers,
            "--protocol",
            "next-basket:3",
            "--buy-again",
        ]);
        let names: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
        assert_eq!(names, ["engine", "popularity", "buy again", "random"]);
        assert!(
            rows.iter().all(|r| r.1 == rows[0].1 && r.1 > 100),
            "{rows:?}"
        );
        let (engine, random) = (&rows[0], &rows[3]);
        assert!(
            engine.2 > random.2 + 0.1 && engine.4 >= random.4,
            "{offers}: {rows:?}"
        );
        assert!(
            rows.iter().all(|r| r.2 <= r.3 && r.3 <= r.4),
            "HR@1 ≤ HR@5 ≤ HR@10"
        );
    }
}

#[test]
fn leave_last_out_excludes_what_was_seen_and_halves_split_the_users() {
    let all = replay(&[
        "--offers",
        "items",
        "--protocol",
        "leave-last-out",
        "--related",
        "5",
    ]);
    let tune = replay(&[
        "--offers",
        "items",
        "--protocol",
        "leave-last-out",
        "--half",
        "tune",
        "--related",
        "5",
    ]);
    let report = replay(&[
        "--offers",
        "items",
        "--protocol",
        "leave-last-out",
        "--half",
        "report",
        "--related",
        "5",
    ]);
    assert_eq!(all[0].1, 60, "one trial per user");
    assert_eq!(tune[0].1 + report[0].1, 60);
    assert!(tune[0].1 > 15 && report[0].1 > 15);
}

#[test]
fn malformed_input_is_refused_with_a_message() {
    let out = Command::new(env!("CARGO_BIN_EXE_pocketrank-tool"))
        .args([
            "replay",
            "--interactions",
            "tests/fixtures/replay-smoke.tags.csv",
            "--tags",
            "tests/fixtures/replay-smoke.tags.csv",
        ])
        .args(["--offers", "items", "--protocol", "leave-last-out"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("header"));
}

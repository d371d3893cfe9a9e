//! The replay harness on a small committed pair of files (the real data is never committed):
//! it must run end to end and its engine must do better than chance.
#![cfg(not(target_arch = "wasm32"))]

use std::process::Command;

/// One method's row: name, trials, HR@1, HR@5, HR@10, then the 95% intervals of HR@1 and
/// HR@10, then the engine ÷ method ratios at HR@1 and HR@10 with their intervals.
#[derive(Debug, PartialEq)]
#[allow(dead_code)]
struct Row {
    name: String,
    trials: usize,
    hr1: f64,
    hr5: f64,
    hr10: f64,
    hr1_interval: (f64, f64),
    hr10_interval: (f64, f64),
    ratio1: (f64, f64, f64),
    ratio10: (f64, f64, f64),
}

/// `pocketrank-tool replay` on the committed pair of files, as CSV.
fn run_replay(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_pocketrank-tool"))
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
        .expect("run pocketrank-tool")
}

fn replay(args: &[&str]) -> Vec<Row> {
    let out = run_replay(args);
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
            assert_eq!(f.len(), 16, "{l}");
            let x = |k: usize| -> f64 { f[k].parse().unwrap() };
            Row {
                name: f[0].to_string(),
                trials: f[1].parse().unwrap(),
                hr1: x(2),
                hr5: x(3),
                hr10: x(4),
                hr1_interval: (x(6), x(7)),
                hr10_interval: (x(8), x(9)),
                ratio1: (x(10), x(11), x(12)),
                ratio10: (x(13), x(14), x(15)),
            }
        })
        .collect()
}

fn row<'a>(rows: &'a [Row], name: &str) -> &'a Row {
    rows.iter()
        .find(|r| r.name == name)
        .unwrap_or_else(|| panic!("no {name} in {rows:?}"))
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
            "--related",
            "8",
            "--knn-last",
            "1,5",
        ]);
        let names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
        let mut want = vec![
            "engine",
            "item-kNN (last 1)",
            "item-kNN (last 5)",
            "item-kNN (whole history)",
        ];
        if offers == "items" {
            // Category offers name no items: the catalog carries no relations for them.
            want.push("item-kNN (last 1; the catalog's relations)");
        }
        want.extend(["popularity", "buy again", "random"]);
        assert_eq!(names, want);
        assert!(
            rows.iter()
                .all(|r| r.trials == rows[0].trials && r.trials > 100),
            "{rows:?}"
        );
        let (engine, random) = (&rows[0], row(&rows, "random"));
        assert!(
            engine.hr1 > random.hr1 + 0.1 && engine.hr10 >= random.hr10,
            "{offers}: {rows:?}"
        );
        for r in &rows {
            assert!(r.hr1 <= r.hr5 && r.hr5 <= r.hr10, "HR@1 ≤ HR@5 ≤ HR@10");
            // Each figure lies in its interval, and the intervals are not empty words.
            for (v, (lo, hi)) in [(r.hr1, r.hr1_interval), (r.hr10, r.hr10_interval)] {
                assert!(lo <= v && v <= hi, "{r:?}");
            }
            assert!(
                r.hr10_interval.1 - r.hr10_interval.0 > 0.0 || r.hr10 == 1.0,
                "{r:?}"
            );
        }
        // Over items, the item-kNN baselines are real recommenders: far above random. (Over
        // the few categories, where every method has HR@10 = 1 and "the same category
        // again" is what wins, an item-kNN that never counts an offer's own items is not.)
        let over_items = if offers == "items" {
            &["item-kNN (last 5)", "item-kNN (whole history)"][..]
        } else {
            &[]
        };
        for &name in over_items {
            assert!(
                row(&rows, name).hr10 > random.hr10 + 0.2,
                "{name}: {rows:?}"
            );
        }
    }
}

#[test]
fn the_margin_over_a_baseline_comes_with_a_paired_interval() {
    let rows = replay(&[
        "--offers",
        "items",
        "--protocol",
        "next-basket:3",
        "--buy-again",
        "--related",
        "8",
    ]);
    let engine = &rows[0];
    assert_eq!(engine.ratio10, (1.0, 1.0, 1.0), "the engine against itself");
    let random = row(&rows, "random");
    let (r, lo, hi) = random.ratio10;
    assert!((r - engine.hr10 / random.hr10).abs() < 1e-3, "{random:?}");
    assert!(
        1.0 < lo && lo <= r && r <= hi,
        "clearly ahead of random: {random:?}"
    );
}

/// The catalog's relations are what the engine has of "shoppers who had this also had that":
/// when the next item goes with the last ones (leave-last-out, everything seen excluded), they
/// lift it well above what it does with the relation term off.
#[test]
fn the_catalog_relations_lift_the_engine_on_the_next_item() {
    let args = [
        "--offers",
        "items",
        "--protocol",
        "leave-last-out",
        "--related",
        "8",
    ];
    let with = replay(&args);
    let mut off = args.to_vec();
    off.extend(["--related-weight", "0"]);
    let without = replay(&off);
    assert_eq!(with[0].trials, without[0].trials);
    assert!(
        with[0].hr1 >= without[0].hr1 + 0.05,
        "with {:?}, without {:?}",
        with[0],
        without[0]
    );
    // And it is level with the server-side item-kNN there, within its interval.
    let knn = row(&with, "item-kNN (last 5)");
    assert!(with[0].hr10 >= knn.hr10_interval.0, "{with:?}");
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
    assert_eq!(all[0].trials, 60, "one trial per user");
    assert_eq!(tune[0].trials + report[0].trials, 60);
    assert!(tune[0].trials > 15 && report[0].trials > 15);
}

/// For tuning with less noise: each of the last k baskets in turn is a trial of its own, every
/// method on the same trials, and the last basket alone is the plain protocol.
#[test]
fn leave_last_out_k_holds_out_each_of_the_last_k_baskets() {
    let args = |protocol: &'static str| {
        [
            "--offers",
            "items",
            "--protocol",
            protocol,
            "--related",
            "5",
        ]
    };
    let one = replay(&args("leave-last-out"));
    let also_one = replay(&args("leave-last-out:1"));
    let three = replay(&args("leave-last-out:3"));
    assert_eq!(one[0].trials, also_one[0].trials);
    assert_eq!(one[0].hr10, also_one[0].hr10);
    assert!(three[0].trials > 2 * one[0].trials, "{three:?}");
    assert!(three.iter().all(|r| r.trials == three[0].trials));
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

/// A fresh directory holding `offers.json` with this text: (directory, catalog path).
fn temp_catalog(name: &str, json: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("pocketrank-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let catalog = dir.join("offers.json");
    std::fs::write(&catalog, json).unwrap();
    (dir, catalog)
}

/// `pocketrank-tool relate CATALOG SALES OUT [TOP]`.
fn run_relate(
    catalog: &std::path::Path,
    sales: &std::path::Path,
    out: &std::path::Path,
    top: Option<&str>,
) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_pocketrank-tool"))
        .arg("relate")
        .args([catalog, sales, out])
        .args(top)
        .output()
        .unwrap()
}

/// `pocketrank-tool relate`: the retailer's relations from its own sales, written into the
/// catalog, within the limit, checked as any catalog is, and about what sells together.
#[test]
fn relate_lists_what_sells_together_within_the_limit() {
    let (dir, catalog) = temp_catalog(
        "relate",
        r#"{ "version": 1, "offers": [
            { "id": "G1", "tags": { "category:garden": 1 }, "items": ["garden-01"] },
            { "id": "R2", "tags": { "category:running": 1 }, "items": ["running-02"] },
            { "id": "ALL", "tags": { "all": 1 } } ] }"#,
    );
    let out = dir.join("related.json");
    let sales = std::path::Path::new("tests/fixtures/replay-smoke.interactions.csv");
    let run = |top: &str| run_relate(&catalog, sales, &out, Some(top));
    let done = run("5");
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let text = std::fs::read_to_string(&out).unwrap();
    let related = pocketrank::Catalog::from_json(&text).unwrap();
    for (offer, category) in [(0, "garden-"), (1, "running-")] {
        let rel: Vec<(&str, f32)> = related.related_of(offer).collect();
        assert_eq!(rel.len(), 5, "{rel:?}");
        assert!(
            rel.iter()
                .all(|(item, s)| item.starts_with(category) && *s > 0.0),
            "bought with {category}: {rel:?}"
        );
    }
    assert_eq!(related.related_of(2).count(), 0, "an offer without items");
    assert!(!run("33").status.success(), "over the limit of 32");
    std::fs::remove_dir_all(&dir).ok();
}

/// `relate` weighs a pair by how close together shoppers had it: an item bought right after
/// the offer's item by three shoppers comes first, before what the four of them bought a few
/// places later and far before one they all bought only a dozen purchases later (which the
/// plain cosine, as the item-kNN baselines use, ranks above the first).
#[test]
fn relate_puts_what_was_had_next_to_the_item_first() {
    let (dir, catalog) = temp_catalog(
        "near",
        r#"{ "version": 1, "offers": [ { "id": "A", "tags": { "t": 1 }, "items": ["a"] } ] }"#,
    );
    let mut csv = String::from("user,item,timestamp\n");
    for s in 0..4 {
        csv += &format!("s{s},a,1000\n");
        if s < 3 {
            csv += &format!("s{s},x,1001\n");
        }
        for k in 0..12 {
            csv += &format!("s{s},filler-{k},{}\n", 1002 + k);
        }
        csv += &format!("s{s},y,2000\n");
    }
    let sales = dir.join("sales.csv");
    std::fs::write(&sales, csv).unwrap();
    let out = dir.join("related.json");
    let done = run_relate(&catalog, &sales, &out, None);
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let related = pocketrank::Catalog::from_json(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let rel: Vec<(&str, f32)> = related.related_of(0).collect();
    let sim = |item: &str| rel.iter().find(|r| r.0 == item).map(|r| r.1);
    let top = rel.iter().max_by(|a, b| a.1.total_cmp(&b.1)).unwrap();
    assert_eq!(top.0, "x", "{rel:?}");
    let (x, y) = (sim("x").unwrap(), sim("y").unwrap());
    assert!(x > 2.0 * y, "next to it {x}, far from it {y}: {rel:?}");
    std::fs::remove_dir_all(&dir).ok();
}

/// `replay --proximity` sets how the catalog's relations are formed (`off`: the plain cosine
/// of the baselines), and only them: the baselines do not move.
#[test]
fn replay_forms_the_catalog_relations_with_the_proximity_it_is_given() {
    let args = |p: &'static str| {
        vec![
            "--offers",
            "items",
            "--protocol",
            "leave-last-out:3",
            "--related",
            "8",
            "--proximity",
            p,
        ]
    };
    let near = replay(&args("10:0.5"));
    let plain = replay(&args("off"));
    let diag = "item-kNN (last 5; the catalog's relations)";
    let (a, b) = (
        row(&near, "item-kNN (last 5)"),
        row(&plain, "item-kNN (last 5)"),
    );
    assert_eq!((a.hr1, a.hr10, a.trials), (b.hr1, b.hr10, b.trials));
    assert_ne!(
        row(&near, diag),
        row(&plain, diag),
        "the published pairs differ"
    );
    let bad = run_replay(&[
        "--offers",
        "items",
        "--protocol",
        "leave-last-out",
        "--proximity",
        "near",
    ]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--proximity"));
}

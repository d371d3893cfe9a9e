//! Adaptive attacks on exact reports: a site that wants to learn which of M interests a
//! shopper holds, using one lever it controls per attacker (caps, `exclude`, `count`, the page
//! context, offer dates, fresh catalogs, several tabs, previews, the days it asks on), and all
//! of them together. Each attacker sees only the report bodies (the IDs chosen), adapts its
//! next request to them, and at the end of the week guesses every interest.
//!
//! What it recovers is measured in bits over many simulated shoppers: the sum over interests
//! of the mutual information between the truth and the guess, estimated from the counts. The
//! interests are independent, so that sum is at most the mutual information between the
//! profile and the reports, which the weekly bound caps.

use std::collections::BTreeSet;

use pocketrank::privacy::PrivacySettings;
use pocketrank::profile::{Event, EventKind, Settings};
use pocketrank::rank::{Random, Request, Scoring, SplitMix64};
use pocketrank::store::SharedMemoryStore as Shared;
use pocketrank::{Catalog, Engine};

const T0: i64 = 1_795_910_400_000;
const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

/// The levers, one attacker each, and all together.
pub const LEVERS: [&str; 10] = [
    "caps", "exclude", "count", "context", "dates", "catalogs", "tabs", "preview", "days", "all",
];

/// One attacker's result.
#[derive(Debug, Clone)]
pub struct Row {
    pub lever: &'static str,
    /// Bits recovered with the weekly bound off (what the lever can do).
    pub unbounded: f64,
    /// Bits recovered with the default bound.
    pub bounded: f64,
    /// The bound in force, bits per week.
    pub bound: f64,
}

/// M interest offers (`I<i>`, tagged `topic:<i>`), four neutral decoys, the first decoy the
/// fallback. `id` changes the catalog's content; `caps` gives every interest offer
/// `caps: {total: 1}`; `start_hours` dates interest offer i from T0 + i·h.
fn catalog(m: usize, id: &str, caps: bool, start_hours: Option<i64>) -> Catalog {
    let mut offers = Vec::new();
    for i in 0..m {
        let mut o = serde_json::json!({ "id": format!("I{i}"), "tags": { format!("topic:{i}"): 1.0 }, "popularity": 0.0 });
        if caps {
            o["caps"] = serde_json::json!({ "total": 1 });
        }
        if let Some(h) = start_hours {
            o["start"] = serde_json::json!(rfc3339(T0 + i as i64 * h * HOUR));
        }
        offers.push(o);
    }
    for j in 0..4 {
        offers.push(serde_json::json!({ "id": format!("D{j}"), "tags": { "decoy": 1.0 }, "popularity": 0.2 }));
    }
    let v = serde_json::json!({ "version": 1, "id": id, "fallback": "D0", "offers": offers });
    Catalog::from_json(&v.to_string()).expect("the attack catalog is valid")
}

fn rfc3339(ms: i64) -> String {
    // Days since the epoch to a civil date (Howard Hinnant's algorithm).
    let secs = ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let mo = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(mo <= 2);
    format!(
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// One shopper's week under one attacker: the interests it guesses the shopper holds.
fn attack(lever: &str, held: &[bool], bits: f64, seed: u64) -> Vec<bool> {
    let m = held.len();
    let store = Shared::default();
    let privacy = PrivacySettings {
        bits_per_window: bits,
        ..PrivacySettings::default()
    };
    let scoring = Scoring {
        exploration: 0.0,
        ..Scoring::default()
    };
    let open = |now: i64| {
        let mut e = Engine::open(
            Box::new(store.clone()),
            "attack",
            Settings::default(),
            scoring.clone(),
            now,
        )
        .expect("valid options");
        e.set_privacy(privacy.clone(), now).expect("valid privacy");
        e
    };
    // The shopper's history: three views of each interest held, over the past weeks.
    {
        let mut e = open(T0 - 30 * DAY);
        for (i, &h) in held.iter().enumerate() {
            if h {
                for k in 0..3 {
                    let ev = Event::new(EventKind::View, [format!("topic:{i}")]);
                    e.record(&ev, T0 - (20 - k) * DAY).expect("a valid event");
                }
            }
        }
    }
    let all = lever == "all";
    let mut tabs = vec![open(T0)];
    if lever == "tabs" || all {
        tabs.push(open(T0));
    }
    let mut rng = SplitMix64(seed);
    let mut reported: Vec<String> = Vec::new();
    let base = catalog(m, "week", lever == "caps", None);
    let loads = 40;
    for n in 0..loads {
        let now = if lever == "days" || all {
            T0 + n as i64 * (7 * DAY / loads as i64)
        } else if lever == "dates" {
            T0 + n as i64 * HOUR
        } else {
            T0 + n as i64 * 60_000
        };
        let fresh;
        let cat = match lever {
            "catalogs" => {
                fresh = catalog(m, &format!("c{n}"), false, None);
                &fresh
            }
            "dates" => {
                fresh = catalog(m, "dated", false, Some(1));
                &fresh
            }
            _ if all => {
                fresh = catalog(m, &format!("c{}", n % 3), n % 2 == 0, None);
                &fresh
            }
            _ => &base,
        };
        let context = if lever == "context" || all {
            vec![format!("page:{n}")]
        } else {
            Vec::new()
        };
        let exclude: Vec<String> = if lever == "caps" {
            Vec::new()
        } else {
            reported.clone()
        };
        let count = if lever == "count" || all { 10 } else { 1 };
        let req = Request {
            context: &context,
            count,
            now,
            exclude: &exclude,
        };
        let note = !(lever == "preview" || (all && n % 2 == 1));
        let k = rng.below(tabs.len());
        let tab = &mut tabs[k];
        for d in tab.choose(cat, &req, &mut rng, note) {
            if !reported.contains(&d.offer_id) {
                reported.push(d.offer_id);
            }
        }
    }
    // Personal answers name held interests first: guess "held" for every interest offer
    // reported before the first decoy.
    let first_decoy = reported
        .iter()
        .position(|id| id.starts_with('D'))
        .unwrap_or(reported.len());
    let named: BTreeSet<&str> = reported[..first_decoy].iter().map(String::as_str).collect();
    (0..m)
        .map(|i| named.contains(format!("I{i}").as_str()))
        .collect()
}

/// Σ over interests of the estimated mutual information (bits) between truth and guess.
fn bits_recovered(truth: &[Vec<bool>], guess: &[Vec<bool>]) -> f64 {
    let m = truth[0].len();
    let s = truth.len() as f64;
    let mut total = 0.0;
    for i in 0..m {
        let mut c = [[0f64; 2]; 2];
        for (t, g) in truth.iter().zip(guess) {
            c[t[i] as usize][g[i] as usize] += 1.0;
        }
        for (x, row) in c.iter().enumerate() {
            for (y, &n) in row.iter().enumerate() {
                if n > 0.0 {
                    let px = (c[x][0] + c[x][1]) / s;
                    let py = (c[0][y] + c[1][y]) / s;
                    total += n / s * ((n / s) / (px * py)).log2();
                }
            }
        }
    }
    total
}

/// Runs every attacker on `shoppers` simulated shoppers holding each of `m` interests with
/// probability one half.
pub fn run(m: usize, shoppers: usize, seed: u64) -> Vec<Row> {
    let bound = PrivacySettings::default().bits_per_window;
    let mut rng = SplitMix64(seed);
    let truth: Vec<Vec<bool>> = (0..shoppers)
        .map(|_| (0..m).map(|_| rng.next_u64() & 1 == 1).collect())
        .collect();
    LEVERS
        .iter()
        .map(|&lever| {
            let measure = |bits: f64| {
                let guesses: Vec<Vec<bool>> = truth
                    .iter()
                    .enumerate()
                    .map(|(k, held)| attack(lever, held, bits, seed ^ k as u64))
                    .collect();
                bits_recovered(&truth, &guesses)
            };
            Row {
                lever,
                unbounded: measure(f64::INFINITY),
                bounded: measure(bound),
                bound,
            }
        })
        .collect()
}

//! Adaptive attacks on exact reports: a site that wants to learn which of M interests a
//! shopper holds, using the levers it controls (catalog content, `exclude`, the page context
//! and `slot`, `count`, offer dates, per-offer caps, the catalog's `fallback`, fresh catalogs,
//! previews, several tabs, when and how often it asks, `clear()`), one attacker per lever and
//! some combinations. Each attacker sees only the report bodies (the IDs chosen, or that none
//! was) and what the page can read of the engine (`privacy().bitsRemaining`, to plan the next
//! question), and at the end guesses every interest.
//!
//! The attackers are built to get the most out of every bit the engine charges: an offer per
//! subset of a group of k interests, eligible only for a shopper holding exactly that subset
//! (`requires` the interests in it, `excludes` the others), so an answer that names one offer
//! of the group tells all k interests; the lever decides which group answers (or whether the
//! one offer left is named at all, a one-bit question). The decoys have ended, so they never
//! count among the offers an answer may name.
//!
//! What an attacker recovers is measured in bits over many simulated shoppers: the sum over
//! interests of the mutual information between the truth and the guess (held, not held, or no
//! evidence), estimated from the counts. The interests are independent, so that sum is at most
//! the mutual information between the profile and the reports, which is at most what the
//! engine charged for them on average (each charge is log2 of the number of answers the
//! question could have had). So each attacker must recover no more than the mean of what the
//! engine says it spent (`privacy().bitsSpent`, summed over the attack), and no shopper's
//! spend in a week may exceed the bound.

use pocketrank::privacy::{answer_bits, PrivacySettings};
use pocketrank::profile::{Event, EventKind, Settings};
use pocketrank::rank::{Random, Request, Scoring, SplitMix64};
use pocketrank::store::SharedMemoryStore as Shared;
use pocketrank::{Catalog, Engine};

const T0: i64 = 1_795_910_400_000;
const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;
/// Ended decoys in every catalog (the fallback is one of them).
const DECOYS: usize = 8;

/// The levers, one attacker each, and the combinations.
pub const LEVERS: [&str; 17] = [
    "exclude",
    "context",
    "slot",
    "count",
    "dates",
    "caps",
    "fallback",
    "catalogs",
    "preview",
    "tabs",
    "days",
    "weeks",
    "clear",
    "count+exclude+context",
    "caps+dates",
    "slot+context",
    "all",
];

/// One attacker's result.
#[derive(Debug, Clone)]
pub struct Row {
    pub lever: &'static str,
    /// Bits recovered with the weekly bound off (what the lever can do).
    pub unbounded: f64,
    /// Bits recovered with the default bound.
    pub bounded: f64,
    /// Mean over shoppers of the bits the engine says it spent during the attack (default
    /// bound), summed over every question it charged.
    pub spent: f64,
    /// The most one shopper's engine had spent inside one window at any time.
    pub most_in_window: f64,
    /// What the bound allows over the whole attack: the weekly bound, times the windows the
    /// attack spans, times the profiles it meets (`clear()` starts a new one).
    pub allowed: f64,
    /// The weekly bound, bits.
    pub bound: f64,
}

/// What one lever's attacker does, in words (printed under the table).
pub fn describe(lever: &str) -> &'static str {
    match lever {
        "exclude" => "one catalog of 40 one-interest offers; each request excludes all but one (a one-bit question)",
        "context" => "one catalog of 7 groups of 6 interests (64 offers a group); a new page context picks the group",
        "slot" => "the same with `slot` picking the group",
        "count" => "the same catalog; as many slots at once as the bits left pay for (each slot names the next group)",
        "dates" => "one catalog of one-interest offers, each valid for one hour; asked every hour",
        "caps" => "the catalog of 7 groups with caps (total: 1, perWeek: 1, perDay: 1 in turn), the same request every day",
        "fallback" => "the same catalog with caps, the fallback changed on every request (a new catalog each time)",
        "catalogs" => "a fresh catalog of one group of 3 interests for every request",
        "preview" => "the exclude attack with every request a preview (not counted as shown)",
        "tabs" => "the exclude attack from two tabs sharing one store, in turn",
        "days" => "the exclude attack spread over the week, one request every 4.2 hours",
        "weeks" => "the exclude attack over 14 days, one request every 4.2 hours (two windows)",
        "clear" => "the exclude attack; once the bits are spent the site calls clear() and the shopper's views are recorded again",
        "count+exclude+context" => "groups of 4; two slots (two groups, all else excluded) and a new context per request",
        "caps+dates" => "groups of 4, group g valid from hour g on, caps total: 1; asked every hour",
        "slot+context" => "7 groups of 6; the slot and the page context together pick the group",
        _ => "two tabs, previews every other request, caps, two slots with all else excluded, a new context, over the week",
    }
}

/// The groups of at most `k` interests that cover `m`.
fn groups(m: usize, k: usize) -> Vec<Vec<usize>> {
    (0..m)
        .step_by(k)
        .map(|a| (a..(a + k).min(m)).collect())
        .collect()
}

/// The subsets of a group that have an offer: all of them, except for a group of one
/// interest, which has only the offer that requires it (named or not: one bit).
fn subsets(members: &[usize]) -> std::ops::Range<usize> {
    if members.len() == 1 {
        1..2
    } else {
        0..1 << members.len()
    }
}

/// The offer of group `g` for the subset `s` of its interests (bit j: its j-th interest).
fn offer_id(g: usize, s: usize) -> String {
    format!("G{g}S{s}")
}

/// A catalog of one offer per subset of each group (with `extra` adding fields per group; an
/// empty group has no offers), and the ended decoys, `fallback` the decoy of that index.
fn catalog(
    groups: &[Vec<usize>],
    id: &str,
    fallback: usize,
    extra: &dyn Fn(usize, &mut serde_json::Value),
) -> Catalog {
    let mut offers = Vec::new();
    let n = groups.len();
    for (g, members) in groups.iter().enumerate().filter(|(_, m)| !m.is_empty()) {
        for s in subsets(members) {
            let topic = |bit: bool| -> Vec<String> {
                (0..members.len())
                    .filter(|j| (s >> j & 1 == 1) == bit)
                    .map(|j| format!("topic:{}", members[j]))
                    .collect()
            };
            let mut o = serde_json::json!({
                "id": offer_id(g, s),
                "tags": { format!("page:{g}"): 1.0, format!("slot:{g}"): 1.0,
                          format!("aisle:{}", g / 2): 1.0, format!("slot:side{}", g % 2): 1.0 },
                "requires": topic(true),
                "excludes": topic(false),
                "popularity": 1.0 - (g + 1) as f64 / (n + 1) as f64,
            });
            extra(g, &mut o);
            offers.push(o);
        }
    }
    for j in 0..DECOYS {
        offers.push(
            serde_json::json!({ "id": format!("D{j}"), "tags": { "decoy": 1.0 },
            "start": rfc3339(T0 - 60 * DAY), "end": rfc3339(T0 - 30 * DAY) }),
        );
    }
    let v = serde_json::json!({ "version": 1, "id": id, "fallback": format!("D{fallback}"), "offers": offers });
    Catalog::from_json(&v.to_string()).expect("the attack catalog is valid")
}

/// The catalogs of one lever's attack, built once and shared by every shopper (the same
/// request builds the same catalog).
#[derive(Default)]
struct Catalogs(std::cell::RefCell<std::collections::HashMap<String, std::rc::Rc<Catalog>>>);

impl Catalogs {
    fn get(&self, key: String, build: impl FnOnce() -> Catalog) -> std::rc::Rc<Catalog> {
        self.0
            .borrow_mut()
            .entry(key)
            .or_insert_with(|| std::rc::Rc::new(build()))
            .clone()
    }
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

/// One shopper's browser under attack: its tabs on one store, and what the attacker has
/// seen and learnt.
struct Browser {
    store: Shared,
    privacy: PrivacySettings,
    scoring: Scoring,
    tabs: Vec<Engine>,
    rng: SplitMix64,
    /// What the engine charged, summed over every request.
    charged: f64,
    /// The most spent inside the window at any time.
    most: f64,
    /// Per interest: 0 not held, 1 held, 2 no evidence.
    guess: Vec<u8>,
}

impl Browser {
    /// A browser whose profile holds the `held` interests (viewed weeks ago), with
    /// `tabs` tabs open at T0.
    fn new(held: &[bool], bits: f64, tabs: usize, seed: u64) -> Browser {
        let mut b = Browser {
            store: Shared::default(),
            privacy: PrivacySettings {
                bits_per_window: bits,
                ..PrivacySettings::default()
            },
            scoring: Scoring {
                exploration: 0.0,
                ..Scoring::default()
            },
            tabs: Vec::new(),
            rng: SplitMix64(seed),
            charged: 0.0,
            most: 0.0,
            guess: vec![2; held.len()],
        };
        let mut e = b.open(T0 - 30 * DAY);
        shop(&mut e, held, T0 - 20 * DAY);
        b.tabs = (0..tabs).map(|_| b.open(T0)).collect();
        b
    }

    fn open(&self, now: i64) -> Engine {
        let mut e = Engine::open(
            Box::new(self.store.clone()),
            "attack",
            Settings::default(),
            self.scoring.clone(),
            now,
        )
        .expect("valid options");
        e.set_privacy(self.privacy.clone(), now)
            .expect("valid privacy");
        e
    }

    fn spent(&mut self, tab: usize, now: i64) -> f64 {
        self.tabs[tab].privacy_view(now).bits_spent.unwrap_or(0.0)
    }

    /// What the page reads before it plans: `privacy().bitsRemaining`.
    fn remaining(&mut self, tab: usize, now: i64) -> f64 {
        self.tabs[tab]
            .privacy_view(now)
            .bits_remaining
            .unwrap_or(0.0)
    }

    /// One request from `tab` that asks about the interests of `asked`; the attacker decodes
    /// what it names into the guess, and an answer that names nothing as "not held".
    #[allow(clippy::too_many_arguments)]
    fn ask(
        &mut self,
        tab: usize,
        cat: &Catalog,
        groups: &[Vec<usize>],
        context: &[String],
        count: usize,
        exclude: &[String],
        now: i64,
        note: bool,
        asked: &[usize],
    ) {
        let before = self.spent(tab, now);
        let req = Request {
            context,
            count,
            now,
            exclude,
        };
        let named = self.tabs[tab].choose(cat, &req, &mut self.rng, note);
        let after = self.spent(tab, now);
        self.charged += (after - before).max(0.0);
        self.most = self.most.max(after);
        if named.is_empty() {
            for &i in asked {
                if self.guess[i] == 2 {
                    self.guess[i] = 0;
                }
            }
        }
        for d in named {
            self.decode(&d.offer_id, groups);
        }
    }

    /// The first answer naming an offer of a group tells its interests.
    fn decode(&mut self, id: &str, groups: &[Vec<usize>]) {
        let Some((g, s)) = id
            .strip_prefix('G')
            .and_then(|r| r.split_once('S'))
            .and_then(|(g, s)| Some((g.parse::<usize>().ok()?, s.parse::<usize>().ok()?)))
        else {
            return;
        };
        if groups[g].iter().any(|&i| self.guess[i] != 2) {
            return;
        }
        for (j, &i) in groups[g].iter().enumerate() {
            self.guess[i] = (s >> j & 1) as u8;
        }
    }
}

/// The shopper views each held interest once (a view of many interests at a time, as few
/// events as an event's tags allow).
fn shop(e: &mut Engine, held: &[bool], now: i64) {
    let tags: Vec<String> = (0..held.len())
        .filter(|&i| held[i])
        .map(|i| format!("topic:{i}"))
        .collect();
    for chunk in tags.chunks(pocketrank::profile::MAX_EVENT_TAGS) {
        let ev = Event::new(EventKind::View, chunk.iter().cloned());
        e.record(&ev, now).expect("a valid event");
    }
}

/// Every offer ID of the catalog of `groups` except those of the groups in `keep`.
fn all_but(groups: &[Vec<usize>], keep: &[usize]) -> Vec<String> {
    let mut out: Vec<String> = (0..DECOYS).map(|j| format!("D{j}")).collect();
    for (g, members) in groups.iter().enumerate() {
        if !keep.contains(&g) {
            out.extend(subsets(members).map(|s| offer_id(g, s)));
        }
    }
    out
}

fn offers(groups: &[Vec<usize>]) -> usize {
    groups.iter().map(|g| subsets(g).len()).sum()
}

const AFFORD: f64 = 1e-9;

/// The exclude attack (one-bit questions) and its variants: from `tabs` tabs in turn, one
/// request every `every` ms over `steps` steps, previews when `preview`; with `clear`, the
/// site clears the profile once the bits are spent, and the shopper's views are recorded
/// again.
fn one_bit(held: &[bool], bits: f64, seed: u64, v: OneBit, cats: &Catalogs) -> Browser {
    let m = held.len();
    let gs = groups(m, 1);
    let cat = cats.get("one-bit".into(), || catalog(&gs, "week", 0, &|_, _| {}));
    let mut b = Browser::new(held, bits, v.tabs, seed);
    let mut next = 0;
    let mut cleared = false;
    for n in 0..v.steps {
        if next == m {
            break;
        }
        let now = T0 + n as i64 * v.every;
        let tab = n % v.tabs;
        if b.remaining(tab, now) + AFFORD < answer_bits(1, 1) {
            if v.clear && !cleared {
                b.tabs[tab].clear().expect("clear");
                cleared = true;
                shop(&mut b.tabs[tab], held, now);
            } else {
                continue;
            }
        }
        b.ask(
            tab,
            &cat,
            &gs,
            &[],
            1,
            &all_but(&gs, &[next]),
            now,
            !v.preview,
            &[next],
        );
        next += 1;
    }
    b
}

#[derive(Clone, Copy)]
struct OneBit {
    tabs: usize,
    steps: usize,
    every: i64,
    preview: bool,
    clear: bool,
}

const ONE_BIT: OneBit = OneBit {
    tabs: 1,
    steps: 40,
    every: MINUTE,
    preview: false,
    clear: false,
};

/// One shopper's week under one attacker.
fn attack(lever: &str, held: &[bool], bits: f64, seed: u64, cats: &Catalogs) -> Browser {
    let m = held.len();
    match lever {
        "exclude" => one_bit(held, bits, seed, ONE_BIT, cats),
        "preview" => one_bit(
            held,
            bits,
            seed,
            OneBit {
                preview: true,
                ..ONE_BIT
            },
            cats,
        ),
        "tabs" => one_bit(held, bits, seed, OneBit { tabs: 2, ..ONE_BIT }, cats),
        "days" => one_bit(
            held,
            bits,
            seed,
            OneBit {
                every: 7 * DAY / 40,
                ..ONE_BIT
            },
            cats,
        ),
        "weeks" => one_bit(
            held,
            bits,
            seed,
            OneBit {
                steps: 80,
                every: 7 * DAY / 40,
                ..ONE_BIT
            },
            cats,
        ),
        "clear" => one_bit(
            held,
            bits,
            seed,
            OneBit {
                clear: true,
                ..ONE_BIT
            },
            cats,
        ),
        "dates" => {
            // Interest offer i valid in hour i only: each hour the catalog asks one bit.
            let gs = groups(m, 1);
            let cat = cats.get("dated".into(), || {
                catalog(&gs, "dated", 0, &|g, o| {
                    o["start"] = serde_json::json!(rfc3339(T0 + g as i64 * HOUR));
                    o["end"] = serde_json::json!(rfc3339(T0 + (g as i64 + 1) * HOUR));
                })
            });
            let mut b = Browser::new(held, bits, 1, seed);
            for (g, _) in gs.iter().enumerate() {
                let now = T0 + g as i64 * HOUR + MINUTE;
                if b.remaining(0, now) + AFFORD >= answer_bits(1, 1) {
                    b.ask(0, &cat, &gs, &[], 1, &[], now, true, &gs[g]);
                }
            }
            b
        }
        "catalogs" => {
            let gs = groups(m, 3);
            let mut b = Browser::new(held, bits, 1, seed);
            for (g, members) in gs.iter().enumerate() {
                let now = T0 + g as i64 * MINUTE;
                // A catalog of this group alone: the other groups' offers are not in it.
                let only: Vec<Vec<usize>> = gs
                    .iter()
                    .enumerate()
                    .map(|(h, x)| if h == g { x.clone() } else { Vec::new() })
                    .collect();
                let cat = cats.get(format!("c{g}"), || {
                    catalog(&only, &format!("c{g}"), 0, &|_, _| {})
                });
                if b.remaining(0, now) + AFFORD >= answer_bits(1 << members.len(), 1) {
                    b.ask(0, &cat, &gs, &[], 1, &[], now, true, &gs[g]);
                }
            }
            b
        }
        "context" | "slot" | "slot+context" => {
            let gs = groups(m, 6);
            let cat = cats.get("sixes".into(), || catalog(&gs, "week", 0, &|_, _| {}));
            let cost = answer_bits(offers(&gs), 1);
            let mut b = Browser::new(held, bits, 1, seed);
            for g in 0..gs.len() {
                let now = T0 + g as i64 * MINUTE;
                let context = match lever {
                    "context" => vec![format!("page:{g}")],
                    // What the package's `slot` option adds to the context.
                    "slot" => vec![format!("slot:{g}")],
                    _ => vec![format!("aisle:{}", g / 2), format!("slot:side{}", g % 2)],
                };
                if b.remaining(0, now) + AFFORD >= cost {
                    b.ask(0, &cat, &gs, &context, 1, &[], now, true, &[]);
                }
            }
            b
        }
        "count" => {
            // One question of as many slots as the bits left pay for: the best offer of each
            // group in turn (by the catalog's popularity), one group per slot.
            let gs = groups(m, 6);
            let cat = cats.get("sixes".into(), || catalog(&gs, "week", 0, &|_, _| {}));
            let mut b = Browser::new(held, bits, 1, seed);
            let left = b.remaining(0, T0);
            let slots = (1..=gs.len())
                .take_while(|&c| answer_bits(offers(&gs), c) <= left + AFFORD)
                .last()
                .unwrap_or(0);
            if slots > 0 {
                b.ask(0, &cat, &gs, &[], slots, &[], T0, true, &[]);
            }
            b
        }
        "caps" | "fallback" => {
            // Every group's offers capped (total, perWeek, perDay in turn): a fresh answer
            // names the next group. "caps" asks the same question once a day (a remembered
            // answer is asked afresh on a later day while the bits pay for it); "fallback"
            // changes the catalog's fallback on every request instead, a new question.
            let gs = groups(m, 6);
            let caps = |g: usize, o: &mut serde_json::Value| {
                o["caps"] = match g % 3 {
                    0 => serde_json::json!({ "total": 1 }),
                    1 => serde_json::json!({ "perWeek": 1 }),
                    _ => serde_json::json!({ "perDay": 1 }),
                };
            };
            let cost = answer_bits(offers(&gs), 1);
            let mut b = Browser::new(held, bits, 1, seed);
            let base = cats.get("caps".into(), || catalog(&gs, "week", 0, &caps));
            for n in 0..7 {
                let (now, fresh);
                let cat = if lever == "caps" {
                    now = T0 + n as i64 * DAY + MINUTE;
                    &base
                } else {
                    now = T0 + n as i64 * MINUTE;
                    fresh = cats.get(format!("fallback{n}"), || {
                        catalog(&gs, "week", n % DECOYS, &caps)
                    });
                    &fresh
                };
                if lever == "caps" || b.remaining(0, now) + AFFORD >= cost {
                    b.ask(0, cat, &gs, &[], 1, &[], now, true, &[]);
                }
            }
            b
        }
        "caps+dates" => {
            let gs = groups(m, 4);
            let cat = cats.get("caps+dates".into(), || {
                catalog(&gs, "week", 0, &|g, o| {
                    o["start"] = serde_json::json!(rfc3339(T0 + g as i64 * HOUR));
                    o["caps"] = serde_json::json!({ "total": 1 });
                })
            });
            let mut b = Browser::new(held, bits, 1, seed);
            for (w, _) in gs.iter().enumerate() {
                let now = T0 + w as i64 * HOUR + MINUTE;
                let cost = answer_bits(offers(&gs[..=w]), 1);
                if b.remaining(0, now) + AFFORD >= cost {
                    b.ask(0, &cat, &gs, &[], 1, &[], now, true, &[]);
                }
            }
            b
        }
        "count+exclude+context" | "all" => {
            let all = lever == "all";
            let gs = groups(m, 4);
            let cat = cats.get(lever.into(), || {
                catalog(&gs, "week", 0, &|_, o| {
                    if all {
                        o["caps"] = serde_json::json!({ "total": 1 });
                    }
                })
            });
            let tabs = if all { 2 } else { 1 };
            let mut b = Browser::new(held, bits, tabs, seed);
            let mut next = 0;
            for n in 0..20 {
                let now = T0 + n as i64 * if all { 7 * DAY / 20 } else { MINUTE };
                let tab = n % tabs;
                let left = b.remaining(tab, now);
                let wanted = (1..=2.min(gs.len() - next))
                    .rev()
                    .find(|&c| answer_bits(offers(&gs[next..next + c]), c) <= left + AFFORD);
                let Some(c) = wanted else { continue };
                let keep: Vec<usize> = (next..next + c).collect();
                b.ask(
                    tab,
                    &cat,
                    &gs,
                    &[format!("page:{n}")],
                    c,
                    &all_but(&gs, &keep),
                    now,
                    !(all && n % 2 == 1),
                    &[],
                );
                next += c;
                if next == gs.len() {
                    break;
                }
            }
            b
        }
        _ => unreachable!("unknown lever {lever}"),
    }
}

/// Σ over interests of the estimated mutual information (bits) between truth and guess.
fn bits_recovered(truth: &[Vec<bool>], guess: &[Vec<u8>]) -> f64 {
    let m = truth[0].len();
    let s = truth.len() as f64;
    let mut total = 0.0;
    for i in 0..m {
        let mut c = [[0f64; 3]; 2];
        for (t, g) in truth.iter().zip(guess) {
            c[t[i] as usize][g[i] as usize] += 1.0;
        }
        for x in 0..2 {
            for y in 0..3 {
                let n = c[x][y];
                if n > 0.0 {
                    let px = c[x].iter().sum::<f64>() / s;
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
            let cats = Catalogs::default();
            let measure = |bits: f64| {
                let browsers: Vec<Browser> = truth
                    .iter()
                    .enumerate()
                    .map(|(k, held)| attack(lever, held, bits, seed ^ k as u64, &cats))
                    .collect();
                let guesses: Vec<Vec<u8>> = browsers.iter().map(|b| b.guess.clone()).collect();
                let spent = browsers.iter().map(|b| b.charged).sum::<f64>() / shoppers as f64;
                let most = browsers.iter().map(|b| b.most).fold(0.0, f64::max);
                (bits_recovered(&truth, &guesses), spent, most)
            };
            let (unbounded, _, _) = measure(f64::INFINITY);
            let (bounded, spent, most_in_window) = measure(bound);
            let times = match lever {
                "weeks" | "clear" => 2.0,
                _ => 1.0,
            };
            Row {
                lever,
                unbounded,
                bounded,
                spent,
                most_in_window,
                allowed: bound * times,
                bound,
            }
        })
        .collect()
}

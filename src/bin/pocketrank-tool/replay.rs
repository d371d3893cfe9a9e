//! `pocketrank-tool replay`: replays real shopping histories through the engine and scores its
//! choices against what each shopper did next, beside the baselines a retailer would use.
//!
//! Input is generic, so that a new dataset needs no code:
//! - interactions CSV, header `user,item,timestamp[,kind]` (timestamp in seconds; kind one
//!   of the event kinds, default `view`); rows with one user and timestamp form one basket;
//! - item tags CSV, header `item,tags`, tags separated by `|`.
//!
//! No quoting: fields hold no commas. The engine is the library's own `Engine` (in memory)
//! fed through `record`, asked through `choose`: no second implementation of the scoring.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;

use pocketrank::catalog::Catalog;
use pocketrank::profile::{Event, EventKind, Settings};
use pocketrank::rank::{Random, Request, Scoring, SplitMix64};
use pocketrank::Engine;

const DAY_MS: i64 = 86_400_000;

/// How offers are formed from items.
#[derive(Debug, Clone, PartialEq)]
pub enum Offers {
    /// One offer per item, tagged with the item's tags.
    Items,
    /// One offer per distinct tag with this prefix (for example `aisle:`); a hit is a next
    /// item carrying that tag.
    Tag(String),
    /// One offer per item among the N most frequent.
    TopItems(usize),
}

impl Offers {
    pub fn parse(s: &str) -> Result<Offers, String> {
        if s == "items" {
            Ok(Offers::Items)
        } else if let Some(p) = s.strip_prefix("tag:") {
            Ok(Offers::Tag(p.to_string()))
        } else if let Some(n) = s.strip_prefix("top-items:") {
            n.parse()
                .map(Offers::TopItems)
                .map_err(|_| format!("bad --offers {s:?}"))
        } else {
            Err(format!(
                "--offers is items, tag:<prefix> or top-items:<n>, not {s:?}"
            ))
        }
    }
}

/// The evaluation protocol.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Protocol {
    /// Hold out each user's last interaction; rank everything not yet seen.
    LeaveLastOut,
    /// After each basket from the `n`-th on, predict the next basket.
    NextBasket(usize),
}

/// Everything the replay needs.
#[derive(Debug, Clone)]
pub struct Config {
    pub offers: Offers,
    pub protocol: Protocol,
    /// Offers may be shown for items just bought (groceries are bought again).
    pub buy_again: bool,
    /// Use at most this many users (0: all), taken in user order.
    pub max_users: usize,
    /// Which half of the users (by a hash of the user ID): 0 tuning, 1 reporting, None all.
    pub half: Option<u8>,
    pub seed: u64,
    /// Item offers also carry `item:<id>` tags for this many items most often bought or
    /// watched by the same shoppers (what a retailer computes from its aggregate sales);
    /// events then carry `item:<id>` too.
    pub related: usize,
    /// Weight of an item's own tags on its offer (categories, genres).
    pub tag_weight: f64,
    /// Offers the engine chooses per decision (10: HR@10 is measured).
    pub slots: usize,
}

/// One user's history: baskets in time order, each (time ms, kind, items).
type History = Vec<(i64, EventKind, Vec<u32>)>;

/// The data, interned.
pub struct Data {
    items: Vec<String>,
    item_tags: Vec<Vec<String>>,
    users: Vec<(String, History)>,
}

fn split_line(line: &str) -> Vec<&str> {
    line.split(',').map(str::trim).collect()
}

impl Data {
    pub fn load(interactions: &str, tags: &str) -> Result<Data, String> {
        let mut items: Vec<String> = Vec::new();
        let mut index: HashMap<String, u32> = HashMap::new();
        let mut intern = |s: &str, items: &mut Vec<String>| -> u32 {
            if let Some(&i) = index.get(s) {
                return i;
            }
            let i = items.len() as u32;
            index.insert(s.to_string(), i);
            items.push(s.to_string());
            i
        };
        let mut lines = tags.lines();
        let header = lines.next().ok_or("the tags file is empty")?;
        if split_line(header) != ["item", "tags"] {
            return Err(format!(
                "the tags file's header is {header:?}, not \"item,tags\""
            ));
        }
        let mut tag_rows: Vec<(u32, Vec<String>)> = Vec::new();
        for (n, line) in lines.enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let f = split_line(line);
            if f.len() != 2 {
                return Err(format!("tags line {}: expected 2 fields", n + 2));
            }
            let id = intern(f[0], &mut items);
            tag_rows.push((
                id,
                f[1].split('|')
                    .filter(|t| !t.is_empty())
                    .map(str::to_string)
                    .collect(),
            ));
        }
        let mut lines = interactions.lines();
        let header = lines.next().ok_or("the interactions file is empty")?;
        let h = split_line(header);
        if h.len() < 3
            || h[..3] != ["user", "item", "timestamp"]
            || (h.len() == 4 && h[3] != "kind")
            || h.len() > 4
        {
            return Err(format!(
                "the interactions file's header is {header:?}, not \"user,item,timestamp[,kind]\""
            ));
        }
        let mut by_user: BTreeMap<String, BTreeMap<(i64, u8), Vec<u32>>> = BTreeMap::new();
        let mut kinds: HashMap<u8, EventKind> = HashMap::new();
        for (n, line) in lines.enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let f = split_line(line);
            if f.len() != h.len() {
                return Err(format!(
                    "interactions line {}: expected {} fields",
                    n + 2,
                    h.len()
                ));
            }
            let t: f64 = f[2]
                .parse()
                .map_err(|_| format!("interactions line {}: bad timestamp {:?}", n + 2, f[2]))?;
            let kind = if h.len() == 4 {
                EventKind::parse(f[3]).map_err(|e| format!("line {}: {e}", n + 2))?
            } else {
                EventKind::View
            };
            kinds.insert(kind as u8, kind);
            let item = intern(f[1], &mut items);
            by_user
                .entry(f[0].to_string())
                .or_default()
                .entry(((t * 1000.0) as i64, kind as u8))
                .or_default()
                .push(item);
        }
        let mut item_tags = vec![Vec::new(); items.len()];
        for (id, tags) in tag_rows {
            item_tags[id as usize] = tags;
        }
        let users = by_user
            .into_iter()
            .map(|(u, baskets)| {
                (
                    u,
                    baskets
                        .into_iter()
                        .map(|((t, k), items)| (t, kinds[&k], items))
                        .collect(),
                )
            })
            .collect();
        Ok(Data {
            items,
            item_tags,
            users,
        })
    }

    pub fn summary(&self) -> String {
        let interactions: usize = self
            .users
            .iter()
            .map(|(_, h)| h.iter().map(|b| b.2.len()).sum::<usize>())
            .sum();
        format!(
            "{} users, {} items, {} interactions",
            self.users.len(),
            self.items.len(),
            interactions
        )
    }
}

/// A formed catalog: each offer's JSON, and which items make it a hit.
struct Formed {
    catalog: Catalog,
    /// Offer index → the items it covers (an item hit by any of them).
    covers: Vec<Vec<u32>>,
    /// Item → offers covering it.
    offers_of: Vec<Vec<usize>>,
    ids: Vec<String>,
}

fn offer_id(s: &str) -> String {
    let id: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._:-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    id.chars().take(128).collect()
}

/// What the retailer knows from other shoppers: item counts, and for each item the items
/// most often found in the same shoppers' histories (cosine of co-occurrence).
struct Priors {
    counts: Vec<u32>,
    related: Vec<Vec<(u32, f64)>>,
}

/// Priors come from other shoppers only: with a half selected, from every interaction of the
/// other half; otherwise from everything but each shopper's held-out part.
fn priors(data: &Data, cfg: &Config) -> Priors {
    let n = data.items.len();
    let mut counts = vec![0u32; n];
    let mut sets: Vec<Vec<u32>> = Vec::new();
    for (u, h) in &data.users {
        let keep = match cfg.half {
            Some(half) if user_half(u) == half => continue,
            Some(_) => h.len(),
            None => h.len().saturating_sub(1),
        };
        let mut set: Vec<u32> = h[..keep].iter().flat_map(|b| b.2.iter().copied()).collect();
        for &i in &set {
            counts[i as usize] += 1;
        }
        set.sort_unstable();
        set.dedup();
        sets.push(set);
    }
    let mut related = vec![Vec::new(); n];
    if cfg.related > 0 {
        let mut users_of = vec![0u32; n];
        let mut pairs: HashMap<u64, u32> = HashMap::new();
        for set in &sets {
            for &a in set {
                users_of[a as usize] += 1;
            }
            // Long histories add little but cost much: the most recent 200 items suffice.
            let set = &set[set.len().saturating_sub(200)..];
            for (x, &a) in set.iter().enumerate() {
                for &b in &set[x + 1..] {
                    *pairs.entry(((a as u64) << 32) | b as u64).or_default() += 1;
                }
            }
        }
        for (key, c) in pairs {
            let (a, b) = ((key >> 32) as usize, (key & 0xffff_ffff) as usize);
            let cos = c as f64 / ((users_of[a] as f64) * (users_of[b] as f64)).sqrt();
            related[a].push((b as u32, cos));
            related[b].push((a as u32, cos));
        }
        for r in &mut related {
            r.sort_by(|x, y| y.1.total_cmp(&x.1).then(x.0.cmp(&y.0)));
            r.truncate(cfg.related);
        }
    }
    Priors { counts, related }
}

fn form(data: &Data, cfg: &Config, priors: &Priors) -> Result<Formed, String> {
    let train_counts = &priors.counts;
    let max_count = train_counts.iter().copied().max().unwrap_or(1).max(1) as f64;
    let mut offers = Vec::new();
    let mut covers: Vec<Vec<u32>> = Vec::new();
    let mut ids = Vec::new();
    let item_offer = |i: usize| {
        let mut tags: serde_json::Map<String, serde_json::Value> = data.item_tags[i]
            .iter()
            .take(pocketrank::catalog::MAX_TAGS_PER_OFFER - 1 - cfg.related.min(24))
            .map(|t| (t.clone(), serde_json::json!(cfg.tag_weight)))
            .collect();
        if cfg.related > 0 {
            tags.insert(format!("item:{}", data.items[i]), serde_json::json!(1.0));
            let top = priors.related[i].first().map_or(1.0, |r| r.1).max(1e-9);
            for &(j, cos) in priors.related[i].iter().take(24) {
                let w = (cos / top).clamp(0.0, 1.0);
                tags.insert(
                    format!("item:{}", data.items[j as usize]),
                    serde_json::json!((w * 1e4).round() / 1e4),
                );
            }
        }
        serde_json::json!({
            "id": offer_id(&format!("item:{}", data.items[i])),
            "tags": tags,
            "items": [data.items[i]],
            "popularity": train_counts[i] as f64 / max_count,
            "buyAgain": cfg.buy_again,
        })
    };
    match &cfg.offers {
        Offers::Items => {
            for i in 0..data.items.len() {
                offers.push(item_offer(i));
                covers.push(vec![i as u32]);
            }
        }
        Offers::TopItems(n) => {
            let mut order: Vec<usize> = (0..data.items.len()).collect();
            order.sort_by_key(|&i| (std::cmp::Reverse(train_counts[i]), i));
            for &i in order.iter().take(*n) {
                offers.push(item_offer(i));
                covers.push(vec![i as u32]);
            }
        }
        Offers::Tag(prefix) => {
            let mut by_tag: BTreeMap<&str, Vec<u32>> = BTreeMap::new();
            for (i, tags) in data.item_tags.iter().enumerate() {
                for t in tags.iter().filter(|t| t.starts_with(prefix.as_str())) {
                    by_tag.entry(t).or_default().push(i as u32);
                }
            }
            let counts: Vec<f64> = by_tag
                .values()
                .map(|its| its.iter().map(|&i| train_counts[i as usize] as f64).sum())
                .collect();
            let max = counts.iter().copied().fold(1.0, f64::max);
            for ((tag, its), count) in by_tag.into_iter().zip(counts) {
                offers.push(serde_json::json!({
                    "id": offer_id(tag),
                    "tags": { tag: 1.0 },
                    "popularity": count / max,
                    "buyAgain": cfg.buy_again,
                }));
                covers.push(its);
            }
        }
    }
    for o in &offers {
        ids.push(o["id"].as_str().unwrap_or_default().to_string());
    }
    let text = serde_json::json!({ "version": 1, "id": "replay", "offers": offers }).to_string();
    let catalog =
        Catalog::from_json(&text).map_err(|e| format!("the formed catalog is refused: {e}"))?;
    let mut offers_of = vec![Vec::new(); data.items.len()];
    for (o, its) in covers.iter().enumerate() {
        for &i in its {
            offers_of[i as usize].push(o);
        }
    }
    Ok(Formed {
        catalog,
        covers,
        offers_of,
        ids,
    })
}

fn user_half(user: &str) -> u8 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in user.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    // FNV's high bits mix poorly on short IDs: finish with SplitMix64's mixer.
    (SplitMix64(h).next_u64() >> 63) as u8
}

/// What one method scored.
#[derive(Debug, Clone, Default)]
pub struct Score {
    pub trials: usize,
    /// Decisions with at least one offer the profile chose (the engine's only).
    pub personal: usize,
    pub hits: [usize; 3],
    pub shown: HashSet<usize>,
}

impl Score {
    fn add(&mut self, ranked: &[usize], hit: &dyn Fn(usize) -> bool) {
        self.trials += 1;
        for (slot, k) in [1usize, 5, 10].into_iter().enumerate() {
            if ranked.iter().take(k).any(|&o| hit(o)) {
                self.hits[slot] += 1;
            }
        }
        self.shown.extend(ranked.iter().take(10));
    }
    pub fn hr(&self, slot: usize) -> f64 {
        self.hits[slot] as f64 / self.trials.max(1) as f64
    }
}

/// The engine's tunable defaults.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Tuning {
    pub scoring: Scoring,
    pub settings: Settings,
    /// The weekly bound of exact reports, in bits; `None`: unbounded (the ranking itself).
    pub bits_per_week: Option<f64>,
}

/// Results per method, in a fixed order: engine, popularity, buy again, random.
pub struct Report {
    pub methods: Vec<(&'static str, Score)>,
    pub catalog_size: usize,
}

impl Report {
    pub fn table(&self, title: &str) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "{title}");
        let _ = writeln!(s, "| method | trials | HR@1 | HR@5 | HR@10 | coverage |");
        let _ = writeln!(s, "| --- | ---: | ---: | ---: | ---: | ---: |");
        for (name, sc) in &self.methods {
            let _ = writeln!(
                s,
                "| {name} | {} | {:.4} | {:.4} | {:.4} | {:.3} |",
                sc.trials,
                sc.hr(0),
                sc.hr(1),
                sc.hr(2),
                sc.shown.len() as f64 / self.catalog_size.max(1) as f64
            );
        }
        if let Some((_, e)) = self.methods.first() {
            let _ = writeln!(
                s,
                "\nengine decisions personal (the profile chose at least one offer): {:.3}",
                e.personal as f64 / e.trials.max(1) as f64
            );
        }
        s
    }
}

fn top_k(scores: &[f64], k: usize, skip: &dyn Fn(usize) -> bool) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..scores.len()).filter(|&o| !skip(o)).collect();
    idx.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    idx.truncate(k);
    idx
}

/// Replays every selected user and scores the engine and the baselines on the same trials.
pub fn run(data: &Data, cfg: &Config, tuning: &Tuning) -> Result<Report, String> {
    let selected: Vec<&(String, History)> = data
        .users
        .iter()
        .filter(|(u, _)| cfg.half.is_none_or(|h| user_half(u) == h))
        .take(if cfg.max_users == 0 {
            usize::MAX
        } else {
            cfg.max_users
        })
        .collect();
    // Popularity from what the selected users did before their held-out part (for
    // leave-last-out: everything but each last interaction; for baskets: everything but
    // the last basket), so that the priors never see an answer.
    let priors = priors(data, cfg);
    let formed = form(data, cfg, &priors)?;
    let n = formed.catalog.len();
    let popularity: Vec<f64> = (0..n)
        .map(|o| formed.catalog.offer(o).popularity as f64 + 1e-9 * (n - o) as f64)
        .collect();
    let mut rng = SplitMix64(cfg.seed);
    let mut engine_score = Score::default();
    let mut pop_score = Score::default();
    let mut again_score = Score::default();
    let mut random_score = Score::default();

    for (_, history) in selected {
        let mut engine =
            Engine::in_memory("replay", tuning.settings.clone(), tuning.scoring.clone(), 0)
                .map_err(|e| e.to_string())?;
        let privacy = pocketrank::privacy::PrivacySettings {
            bits_per_window: tuning.bits_per_week.unwrap_or(f64::INFINITY),
            ..Default::default()
        };
        engine.set_privacy(privacy, 0).map_err(|e| e.to_string())?;
        let mut own = vec![0f64; n];
        let mut seen: Vec<bool> = vec![false; n];
        let mut seen_ids: Vec<String> = Vec::new();
        let trials: Vec<usize> = match cfg.protocol {
            Protocol::LeaveLastOut if history.iter().map(|b| b.2.len()).sum::<usize>() >= 2 => {
                vec![history.len() - 1]
            }
            Protocol::LeaveLastOut => vec![],
            Protocol::NextBasket(min) => (min..history.len()).collect(),
        };
        let mut fed = 0;
        for target in trials {
            // Feed everything before the target basket.
            while fed < target {
                let (t, kind, items) = &history[fed];
                for &i in items {
                    let mut tags = data.item_tags[i as usize].clone();
                    if cfg.related > 0 {
                        tags.push(format!("item:{}", data.items[i as usize]));
                    }
                    tags.truncate(pocketrank::profile::MAX_EVENT_TAGS);
                    if tags.is_empty() {
                        tags.push("item".into());
                    }
                    let ev = Event::new(*kind, tags).with_item(data.items[i as usize].clone());
                    engine.record(&ev, *t).map_err(|e| e.to_string())?;
                    for &o in &formed.offers_of[i as usize] {
                        own[o] += 1.0;
                        if cfg.protocol == Protocol::LeaveLastOut && !seen[o] {
                            seen[o] = true;
                            seen_ids.push(formed.ids[o].clone());
                        }
                    }
                }
                fed += 1;
            }
            let (t, _, next) = &history[target];
            let wanted: HashSet<usize> = next
                .iter()
                .flat_map(|&i| formed.offers_of[i as usize].iter().copied())
                .collect();
            if wanted.is_empty() {
                continue;
            }
            let hit = |o: usize| wanted.contains(&o);
            let now = *t - 1;
            let req = Request {
                context: &[],
                count: cfg.slots,
                now,
                exclude: &seen_ids,
            };
            let decisions = engine.choose(&formed.catalog, &req, &mut rng, false);
            if decisions
                .iter()
                .any(|d| d.reason == pocketrank::rank::Reason::Personal)
            {
                engine_score.personal += 1;
            }
            let ranked: Vec<usize> = decisions.iter().map(|d| d.offer).collect();
            engine_score.add(&ranked, &hit);
            let skip = |o: usize| seen[o];
            pop_score.add(&top_k(&popularity, 10, &skip), &hit);
            let again: Vec<f64> = (0..n).map(|o| own[o] + popularity[o] * 1e-3).collect();
            again_score.add(&top_k(&again, 10, &skip), &hit);
            let noise: Vec<f64> = (0..n).map(|_| rng.next_f64()).collect();
            random_score.add(&top_k(&noise, 10, &skip), &hit);
        }
    }
    let _ = &formed.covers;
    Ok(Report {
        methods: vec![
            ("engine", engine_score),
            ("popularity", pop_score),
            ("buy again", again_score),
            ("random", random_score),
        ],
        catalog_size: n,
    })
}

/// Day-scale helper for the half-life grid.
pub fn days(d: f64) -> i64 {
    (d * DAY_MS as f64) as i64
}

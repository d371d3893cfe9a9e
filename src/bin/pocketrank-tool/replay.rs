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

use pocketrank::catalog::Catalog;
use pocketrank::profile::{Event, EventKind, Settings};
use pocketrank::rank::{Random, Request, Scoring, SplitMix64};
use pocketrank::Engine;

use crate::relations;
use crate::report::{Report, Score};

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
    /// Hold out each user's last basket; rank everything not yet seen. With `k` > 1, each of
    /// the last `k` baskets in turn, every earlier one fed first: more trials from the same
    /// shoppers, for tuning with less noise (the figures reported use `k` = 1).
    LeaveLastOut(usize),
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
    /// Offers carry `related`: this many items most often bought or watched by the same
    /// shoppers (what a retailer computes from its aggregate sales; at most 32).
    pub related: usize,
    /// The item-kNN baselines over the shopper's last n items, one per n.
    pub knn_last: Vec<usize>,
    /// Weight of an item's own tags on its offer (categories, genres).
    pub tag_weight: f64,
    /// Offers the engine chooses per decision (10: HR@10 is measured).
    pub slots: usize,
    /// Writes every trial's offers wanted and ranked, per method, to this file (a diagnostic:
    /// `shopper,basket,method,wanted,ranked`, offer IDs separated by `|`).
    pub dump: Option<String>,
    /// How the catalog's relations weigh a pair by how close together shoppers had it
    /// (`relations::PROXIMITY`, as `relate` publishes them); `None`: the plain cosine, as the
    /// item-kNN baselines.
    pub proximity: Option<relations::Proximity>,
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
    /// Each shopper's distinct items (all of their history), and the item index by ID.
    /// Each user's baskets as a [`relations::Sequence`], and the item index.
    pub fn sequences(&self) -> (Vec<relations::Sequence>, HashMap<&str, u32>) {
        let sequences = self
            .users
            .iter()
            .map(|(_, h)| relations::sequence(h.iter().map(|b| &b.2[..])))
            .collect();
        let index = self
            .items
            .iter()
            .enumerate()
            .map(|(i, s)| (s.as_str(), i as u32))
            .collect();
        (sequences, index)
    }

    /// The item's ID.
    pub fn item(&self, i: u32) -> &str {
        &self.items[i as usize]
    }

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

/// A formed catalog, which items make each offer a hit, and the full similarities.
struct Formed {
    catalog: Catalog,
    /// Item → offers covering it.
    offers_of: Vec<Vec<usize>>,
    ids: Vec<String>,
    /// Item → every offer related to it with its similarity (not truncated: what a server
    /// that keeps the whole matrix would use).
    by_item: Vec<Vec<(u32, f32)>>,
    /// The same, restricted to the relations the catalog publishes.
    published: Vec<Vec<(u32, f32)>>,
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

/// What the retailer knows from other shoppers: item counts, and each shopper's distinct
/// items (for the relations and the item-kNN baselines).
struct Priors {
    counts: Vec<u32>,
    /// Each shopper's baskets, in time order.
    sequences: Vec<relations::Sequence>,
}

/// Priors come from other shoppers only: with a half selected, from every interaction of the
/// other half; otherwise from everything but each shopper's held-out part.
fn priors(data: &Data, cfg: &Config) -> Priors {
    let n = data.items.len();
    let mut counts = vec![0u32; n];
    let mut sequences: Vec<relations::Sequence> = Vec::new();
    for (u, h) in &data.users {
        let keep = match cfg.half {
            Some(half) if user_half(u) == half => continue,
            Some(_) => h.len(),
            None => h.len().saturating_sub(1),
        };
        let seq = relations::sequence(h[..keep].iter().map(|b| &b.2[..]));
        for &(i, _) in &seq {
            counts[i as usize] += 1;
        }
        sequences.push(seq);
    }
    Priors { counts, sequences }
}

/// One offer before it is written as JSON.
struct Planned {
    id: String,
    tags: Vec<(String, f64)>,
    items: Vec<String>,
    popularity: f64,
}

fn form(data: &Data, cfg: &Config, priors: &Priors) -> Result<Formed, String> {
    let train_counts = &priors.counts;
    let max_count = train_counts.iter().copied().max().unwrap_or(1).max(1) as f64;
    let mut planned: Vec<Planned> = Vec::new();
    let mut covers: Vec<Vec<u32>> = Vec::new();
    let item_offer = |i: usize| Planned {
        id: offer_id(&format!("item:{}", data.items[i])),
        tags: data.item_tags[i]
            .iter()
            .take(pocketrank::catalog::MAX_TAGS_PER_OFFER)
            .map(|t| (t.clone(), cfg.tag_weight))
            .collect(),
        items: vec![data.items[i].clone()],
        popularity: train_counts[i] as f64 / max_count,
    };
    match &cfg.offers {
        Offers::Items => {
            for i in 0..data.items.len() {
                planned.push(item_offer(i));
                covers.push(vec![i as u32]);
            }
        }
        Offers::TopItems(n) => {
            let mut order: Vec<usize> = (0..data.items.len()).collect();
            order.sort_by_key(|&i| (std::cmp::Reverse(train_counts[i]), i));
            for &i in order.iter().take(*n) {
                planned.push(item_offer(i));
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
                planned.push(Planned {
                    id: offer_id(tag),
                    tags: vec![(tag.to_string(), 1.0)],
                    items: Vec::new(),
                    popularity: count / max,
                });
                covers.push(its);
            }
        }
    }
    // The baselines' plain cosine, and the catalog's relations as `relate` computes them.
    let similarity = relations::similarity(&priors.sequences, &covers, data.items.len(), None);
    let relations = cfg
        .proximity
        .map(|p| relations::similarity(&priors.sequences, &covers, data.items.len(), Some(p)));
    let related = cfg.related.min(pocketrank::catalog::MAX_RELATED_PER_OFFER);
    let chosen: Vec<&[(u32, f32)]> = relations
        .as_ref()
        .unwrap_or(&similarity)
        .by_offer
        .iter()
        .map(|row| &row[..row.len().min(related)])
        .collect();
    let offers: Vec<serde_json::Value> = planned
        .iter()
        .enumerate()
        .map(|(o, p)| {
            let tags: serde_json::Map<String, serde_json::Value> = p
                .tags
                .iter()
                .map(|(t, w)| (t.clone(), serde_json::json!(w)))
                .collect();
            // As `pocketrank-tool relate` does: relations for offers with items only (an
            // offer for a whole aisle names no items, so nothing says what it is "had with").
            let listed = if p.items.is_empty() { 0 } else { related };
            let rel: serde_json::Map<String, serde_json::Value> = chosen[o]
                .iter()
                .take(listed)
                .map(|&(j, sim)| {
                    (
                        data.items[j as usize].clone(),
                        serde_json::json!(relations::round(sim)),
                    )
                })
                .collect();
            let mut offer = serde_json::json!({
                "id": p.id,
                "tags": tags,
                "popularity": p.popularity,
                "buyAgain": cfg.buy_again,
            });
            if !p.items.is_empty() {
                offer["items"] = serde_json::json!(p.items);
            }
            if !rel.is_empty() {
                offer["related"] = serde_json::Value::Object(rel);
            }
            offer
        })
        .collect();
    let ids = planned.iter().map(|p| p.id.clone()).collect();
    let text = serde_json::json!({ "version": 1, "id": "replay", "offers": offers }).to_string();
    let catalog =
        Catalog::from_json(&text).map_err(|e| format!("the formed catalog is refused: {e}"))?;
    let mut offers_of = vec![Vec::new(); data.items.len()];
    for (o, its) in covers.iter().enumerate() {
        for &i in its {
            offers_of[i as usize].push(o);
        }
    }
    let mut published: Vec<Vec<(u32, f32)>> = vec![Vec::new(); data.items.len()];
    for (o, row) in chosen.iter().enumerate() {
        if planned[o].items.is_empty() {
            continue;
        }
        for &(j, sim) in row.iter() {
            published[j as usize].push((o as u32, relations::round(sim) as f32));
        }
    }
    Ok(Formed {
        catalog,
        offers_of,
        ids,
        by_item: similarity.by_item,
        published,
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

/// The engine's tunable defaults.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Tuning {
    pub scoring: Scoring,
    pub settings: Settings,
    /// The weekly bound of exact reports, in bits; `None`: unbounded (the ranking itself).
    pub bits_per_week: Option<f64>,
}

fn top_k(scores: &[f64], k: usize, skip: &dyn Fn(usize) -> bool) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..scores.len()).filter(|&o| !skip(o)).collect();
    let by = |a: &usize, b: &usize| scores[*b].total_cmp(&scores[*a]).then(a.cmp(b));
    if idx.len() > k {
        idx.select_nth_unstable_by(k - 1, by);
        idx.truncate(k);
    }
    idx.sort_by(by);
    idx
}

/// Item-kNN, server side: for each offer, the sum of its similarities to `items` (each with
/// its weight), from the full similarity matrix; popularity breaks ties.
fn knn(by_item: &[Vec<(u32, f32)>], items: &[u32], popularity: &[f64], out: &mut Vec<f64>) {
    out.clear();
    out.extend(popularity.iter().map(|p| p * 1e-6));
    for &j in items {
        for &(o, sim) in &by_item[j as usize] {
            out[o as usize] += sim as f64;
        }
    }
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
    // Popularity, relations and the item-kNN similarities come from the other half's
    // shoppers (with --half), so that they never see an answer, nor the shopper's own data.
    let priors = priors(data, cfg);
    let formed = form(data, cfg, &priors)?;
    let n = formed.catalog.len();
    let popularity: Vec<f64> = (0..n)
        .map(|o| formed.catalog.offer(o).popularity as f64 + 1e-9 * (n - o) as f64)
        .collect();
    let mut rng = SplitMix64(cfg.seed);
    let mut names: Vec<String> = vec!["engine".into()];
    for &last in &cfg.knn_last {
        names.push(format!("item-kNN (last {last})"));
    }
    names.push("item-kNN (whole history)".into());
    let published_last = cfg
        .knn_last
        .first()
        .copied()
        .filter(|_| formed.catalog.has_relations());
    if let Some(last) = published_last {
        names.push(format!("item-kNN (last {last}; the catalog's relations)"));
    }
    names.extend(["popularity", "buy again", "random"].map(String::from));
    let mut scores: Vec<Score> = vec![Score::default(); names.len()];
    let mut shopper: Vec<u32> = Vec::new();
    let mut buffer: Vec<f64> = Vec::new();
    let mut dump = String::new();

    for (user, (_, history)) in selected.into_iter().enumerate() {
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
        // The shopper's distinct items in the order last had (newest last).
        let mut sequence: Vec<u32> = Vec::new();
        let trials: Vec<usize> = match cfg.protocol {
            Protocol::LeaveLastOut(1) if history.iter().map(|b| b.2.len()).sum::<usize>() >= 2 => {
                vec![history.len() - 1]
            }
            Protocol::LeaveLastOut(1) => vec![],
            Protocol::LeaveLastOut(k) => {
                (history.len().saturating_sub(k).max(1)..history.len()).collect()
            }
            Protocol::NextBasket(min) => (min..history.len()).collect(),
        };
        let mut fed = 0;
        for target in trials {
            // Feed everything before the target basket.
            while fed < target {
                let (t, kind, items) = &history[fed];
                for &i in items {
                    let mut tags = data.item_tags[i as usize].clone();
                    tags.truncate(pocketrank::profile::MAX_EVENT_TAGS);
                    if tags.is_empty() {
                        tags.push("item".into());
                    }
                    let ev = Event::new(*kind, tags).with_item(data.items[i as usize].clone());
                    engine.record(&ev, *t).map_err(|e| e.to_string())?;
                    sequence.retain(|&x| x != i);
                    sequence.push(i);
                    for &o in &formed.offers_of[i as usize] {
                        own[o] += 1.0;
                        if matches!(cfg.protocol, Protocol::LeaveLastOut(_)) && !seen[o] {
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
                scores[0].personal += 1;
            }
            let ranked: Vec<usize> = decisions.iter().map(|d| d.offer).collect();
            shopper.push(user as u32);
            let mut rankings: Vec<Vec<usize>> = Vec::new();
            let mut m = 0;
            scores[m].add(&ranked, &hit);
            rankings.push(ranked);
            let skip = |o: usize| seen[o];
            for &last in &cfg.knn_last {
                m += 1;
                let recent = &sequence[sequence.len().saturating_sub(last)..];
                knn(&formed.by_item, recent, &popularity, &mut buffer);
                rankings.push(top_k(&buffer, 10, &skip));
                scores[m].add(rankings.last().unwrap(), &hit);
            }
            m += 1;
            knn(&formed.by_item, &sequence, &popularity, &mut buffer);
            scores[m].add(&top_k(&buffer, 10, &skip), &hit);
            m += 1;
            if let Some(last) = published_last {
                let recent = &sequence[sequence.len().saturating_sub(last)..];
                knn(&formed.published, recent, &popularity, &mut buffer);
                scores[m].add(&top_k(&buffer, 10, &skip), &hit);
                m += 1;
            }
            scores[m].add(&top_k(&popularity, 10, &skip), &hit);
            m += 1;
            let again: Vec<f64> = (0..n).map(|o| own[o] + popularity[o] * 1e-3).collect();
            scores[m].add(&top_k(&again, 10, &skip), &hit);
            m += 1;
            let noise: Vec<f64> = (0..n).map(|_| rng.next_f64()).collect();
            scores[m].add(&top_k(&noise, 10, &skip), &hit);
            if cfg.dump.is_some() {
                let ids = |os: &mut dyn Iterator<Item = usize>| {
                    os.map(|o| formed.ids[o].as_str())
                        .collect::<Vec<_>>()
                        .join("|")
                };
                let wanted = ids(&mut wanted.iter().copied());
                for (k, ranked) in rankings.iter().enumerate() {
                    dump.push_str(&format!(
                        "{user},{target},{},{wanted},{}\n",
                        names[k],
                        ids(&mut ranked.iter().copied())
                    ));
                }
            }
        }
    }
    if let Some(path) = &cfg.dump {
        std::fs::write(path, dump).map_err(|e| format!("{path}: {e}"))?;
    }
    let mut report = Report {
        methods: names.into_iter().zip(scores).collect(),
        shopper,
        catalog_size: n,
        hr: Vec::new(),
        ratio: Vec::new(),
        difference: Vec::new(),
    };
    report.bootstrap(cfg.seed);
    Ok(report)
}

/// Day-scale helper for the half-life grid.
pub fn days(d: f64) -> i64 {
    (d * DAY_MS as f64) as i64
}

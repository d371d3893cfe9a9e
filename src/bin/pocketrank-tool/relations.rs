//! "Shoppers who had this also had that": cosine similarity of co-occurrence between offers
//! and items, over a set of shoppers' histories. One computation for the catalog's relations
//! (`pocketrank-tool relate`, and the catalogs `replay` forms) and for the server-side item-kNN
//! baselines of `replay`, so that the two cannot drift.
//!
//! For an offer `o` (covering some items) and an item `j` not among them:
//!
//! ```text
//! similarity(o, j) = Σ_u near_u(o, j) / sqrt(shoppers(o) · shoppers(j))
//! ```
//!
//! summed over the shoppers `u` who had both, where `shoppers(o)` counts the shoppers who had
//! any item `o` covers. For the item-kNN baselines every such shopper counts 1 (`near` = 1):
//! for one offer per item this is the classic item-to-item cosine. For the catalog's
//! relations a shopper counts more when they had the two close together in their own
//! sequence ([`Proximity`]): "had with" is then mostly "had next to", which is what the
//! engine asks the relations about (what goes with the shopper's *latest* items). On the
//! MovieLens tuning half this lifted the engine from 0.0615 / 0.2927 (HR@1 / HR@10, plain
//! cosine) to 0.0665 / 0.3076, past item-kNN over the last 5 items (0.0651 / 0.2972); see
//! `EVALUATION.md`.

/// How much a shopper who had both an offer's item and another item counts toward their
/// similarity, by how many places apart they had them in the shopper's own time-ordered
/// history (the closest two places; items had at the same time, as one basket, share a place,
/// and two of them count as one place apart, so that the order a basket happens to be listed
/// in never matters):
///
/// ```text
/// near(gap) = (far + [gap ≤ window] / gap) / (1 + far)
/// ```
///
/// so neighbours count 1, two places apart `(far + 1/2) / (1 + far)`, and anything beyond the
/// window `far / (1 + far)` (never 0: having both at all is still evidence).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Proximity {
    /// Places apart within which closeness counts extra.
    pub window: usize,
    /// What a shopper who had both anywhere counts, relative to the extra of neighbours.
    pub far: f64,
}

/// The relations `relate` publishes and `replay` puts in its catalogs, chosen on the MovieLens
/// tuning half (`EVALUATION.md`: a plateau from window 5 to 20 and `far` 0.25 to 0.5).
pub const PROXIMITY: Proximity = Proximity {
    window: 10,
    far: 0.5,
};

impl Proximity {
    fn near(&self, gap: usize) -> f64 {
        let close = if gap <= self.window {
            1.0 / gap as f64
        } else {
            0.0
        };
        (self.far + close) / (1.0 + self.far)
    }
}

/// Offer → item similarities, both ways round.
pub struct Similarity {
    /// Per item: the offers related to it, with their similarity (every non-zero one).
    pub by_item: Vec<Vec<(u32, f32)>>,
    /// Per offer: its related items, most similar first (ties by item index).
    pub by_offer: Vec<Vec<(u32, f32)>>,
}

/// One shopper's items in the order they had them, repeats allowed: `(item, place)`, where
/// `place` is how many items they had before the basket the item came in (so the items of
/// one basket share it, and places never decrease).
pub type Sequence = Vec<(u32, u32)>;

/// A shopper's baskets, in time order, as a [`Sequence`].
pub fn sequence<'a>(baskets: impl IntoIterator<Item = &'a [u32]>) -> Sequence {
    let mut seq = Vec::new();
    for basket in baskets {
        let place = seq.len() as u32;
        seq.extend(basket.iter().map(|&i| (i, place)));
    }
    seq
}

/// Computes the similarities from `sequences` (each shopper's), for offers covering the items
/// `covers[o]`, among `n_items` items; with `proximity`, weighted by how close together each
/// shopper had the two, else each shopper who had both counts 1 (the plain cosine).
pub fn similarity(
    sequences: &[Sequence],
    covers: &[Vec<u32>],
    n_items: usize,
    proximity: Option<Proximity>,
) -> Similarity {
    let n_offers = covers.len();
    let histories: Vec<Vec<u32>> = sequences
        .iter()
        .map(|s| {
            let mut set: Vec<u32> = s.iter().map(|&(i, _)| i).collect();
            set.sort_unstable();
            set.dedup();
            set
        })
        .collect();
    let mut offers_of: Vec<Vec<u32>> = vec![Vec::new(); n_items];
    for (o, its) in covers.iter().enumerate() {
        for &i in its {
            offers_of[i as usize].push(o as u32);
        }
    }
    let mut shoppers_of_item = vec![0u32; n_items];
    // Per offer: the shoppers who had it.
    let mut shoppers_of_offer: Vec<Vec<u32>> = vec![Vec::new(); n_offers];
    let mut mark = vec![u32::MAX; n_offers];
    for (u, h) in histories.iter().enumerate() {
        for &i in h {
            shoppers_of_item[i as usize] += 1;
            for &o in &offers_of[i as usize] {
                if mark[o as usize] != u as u32 {
                    mark[o as usize] = u as u32;
                    shoppers_of_offer[o as usize].push(u as u32);
                }
            }
        }
    }
    let mut by_offer = vec![Vec::new(); n_offers];
    let mut by_item: Vec<Vec<(u32, f32)>> = vec![Vec::new(); n_items];
    // Per item, for the current offer: the shoppers who had both (weighted by `near` with a
    // proximity), and for the current shopper, the closest the two came.
    let mut together = vec![0f64; n_items];
    let mut closest = vec![usize::MAX; n_items];
    let mut covered = vec![false; n_items];
    let mut met = vec![false; n_items];
    let mut touched: Vec<u32> = Vec::new();
    let mut close: Vec<u32> = Vec::new();
    for o in 0..n_offers {
        covers[o].iter().for_each(|&i| covered[i as usize] = true);
        for &u in &shoppers_of_offer[o] {
            let u = u as usize;
            for &j in &histories[u] {
                if !met[j as usize] {
                    met[j as usize] = true;
                    touched.push(j);
                }
                together[j as usize] += proximity.map_or(1.0, |p| p.near(usize::MAX));
            }
            let Some(p) = proximity else { continue };
            let seq = &sequences[u];
            for (a, &(i, at)) in seq.iter().enumerate() {
                if !covered[i as usize] {
                    continue;
                }
                // Places never decrease: the window is a run of the sequence around `a`.
                let near = |&&(_, place): &&(u32, u32)| at.abs_diff(place) as usize <= p.window;
                let before = seq[..a].iter().rev().take_while(near);
                let after = seq[a + 1..].iter().take_while(near);
                for &(j, place) in before.chain(after) {
                    if covered[j as usize] {
                        continue;
                    }
                    let gap = (at.abs_diff(place) as usize).max(1);
                    if gap < closest[j as usize] {
                        if closest[j as usize] == usize::MAX {
                            close.push(j);
                        }
                        closest[j as usize] = gap;
                    }
                }
            }
            for j in close.drain(..) {
                let gap = std::mem::replace(&mut closest[j as usize], usize::MAX);
                together[j as usize] += p.near(gap) - p.near(usize::MAX);
            }
        }
        let n_o = shoppers_of_offer[o].len() as f64;
        let mut row: Vec<(u32, f32)> = Vec::with_capacity(touched.len());
        for &j in &touched {
            let c = std::mem::take(&mut together[j as usize]);
            met[j as usize] = false;
            if covered[j as usize] || c <= 0.0 {
                continue;
            }
            let sim = c / (n_o * shoppers_of_item[j as usize] as f64).sqrt();
            row.push((j, sim as f32));
            by_item[j as usize].push((o as u32, sim as f32));
        }
        touched.clear();
        covers[o].iter().for_each(|&i| covered[i as usize] = false);
        row.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        by_offer[o] = row;
    }
    Similarity { by_item, by_offer }
}

/// `pocketrank-tool relate CATALOG.json INTERACTIONS.csv OUT.json [TOP]`: writes the catalog
/// again with, for each offer that has items, its `TOP` (default and at most 32) most
/// similar items from the interactions file (`user,item,timestamp[,kind]`: the retailer's own
/// sales or views, every shopper's). Offers without items get no relations; relations the
/// catalog already had are replaced. The result is checked as any catalog is.
pub fn relate(args: &[String]) -> Result<String, String> {
    use pocketrank::catalog::MAX_RELATED_PER_OFFER;
    let (input, interactions, output, top) = match args {
        [i, t, o] => (i, t, o, MAX_RELATED_PER_OFFER),
        [i, t, o, n] => (
            i,
            t,
            o,
            n.parse::<usize>()
                .ok()
                .filter(|&n| (1..=MAX_RELATED_PER_OFFER).contains(&n))
                .ok_or_else(|| {
                    format!("TOP is a number from 1 to {MAX_RELATED_PER_OFFER}, not {n:?}")
                })?,
        ),
        _ => return Err("relate needs CATALOG.json INTERACTIONS.csv OUT.json [TOP]".into()),
    };
    let text = std::fs::read_to_string(input).map_err(|e| format!("{input}: {e}"))?;
    pocketrank::Catalog::from_json(&text).map_err(|e| format!("{input}: {e} [{}]", e.code))?;
    let mut catalog: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{input}: {e}"))?;
    let sales =
        std::fs::read_to_string(interactions).map_err(|e| format!("{interactions}: {e}"))?;
    let data = crate::replay::Data::load(&sales, "item,tags\n")
        .map_err(|e| format!("{interactions}: {e}"))?;
    let (sequences, index) = data.sequences();
    let offers = catalog["offers"]
        .as_array_mut()
        .ok_or_else(|| format!("{input}: no offers"))?;
    let covers: Vec<Vec<u32>> = offers
        .iter()
        .map(|o| {
            o["items"]
                .as_array()
                .map(|its| {
                    its.iter()
                        .filter_map(|i| index.get(i.as_str()?).copied())
                        .collect()
                })
                .unwrap_or_default()
        })
        .collect();
    let sim = similarity(&sequences, &covers, index.len(), Some(PROXIMITY));
    let mut related_offers = 0;
    for (o, offer) in offers.iter_mut().enumerate() {
        let obj = offer
            .as_object_mut()
            .ok_or_else(|| format!("{input}: offer {o} is not an object"))?;
        obj.remove("related");
        let has_items = obj
            .get("items")
            .and_then(|v| v.as_array())
            .is_some_and(|a| !a.is_empty());
        let rel: serde_json::Map<String, serde_json::Value> = sim.by_offer[o]
            .iter()
            .filter(|_| has_items)
            .map(|&(j, s)| (data.item(j).to_string(), round(s)))
            .filter(|(_, s)| *s > 0.0)
            .take(top)
            .map(|(j, s)| (j, serde_json::json!(s)))
            .collect();
        if !rel.is_empty() {
            related_offers += 1;
            obj.insert("related".into(), serde_json::Value::Object(rel));
        }
    }
    let out = serde_json::to_string(&catalog).map_err(|e| e.to_string())?;
    let checked =
        pocketrank::Catalog::from_json(&out).map_err(|e| format!("the related catalog: {e}"))?;
    std::fs::write(output, &out).map_err(|e| format!("{output}: {e}"))?;
    Ok(format!(
        "{output}: {} offers, {related_offers} with related items (at most {top}), from {} shoppers; {} bytes of JSON ({} before), {} bytes packed",
        checked.len(),
        sequences.len(),
        out.len(),
        text.len(),
        checked.to_bytes().len()
    ))
}

/// A similarity as published in a catalog: four decimals, as the profile keeps its weights.
pub fn round(sim: f32) -> f64 {
    (sim as f64 * 1e4).round() / 1e4
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_of_co_occurrence_without_the_offer_itself() {
        // Items 0, 1, 2; shoppers {0,1}, {0,1}, {0,2}, {2}.
        let h: Vec<Sequence> = [&[0, 1][..], &[0, 1], &[0, 2], &[2]]
            .iter()
            .map(|s| sequence(s.chunks(1)))
            .collect();
        let covers = vec![vec![0], vec![1], vec![2]];
        let s = similarity(&h, &covers, 3, None);
        // 0 and 1: 2 shoppers together, 3 and 2 alone: 2 / sqrt(6).
        let want = 2.0 / 6f32.sqrt();
        assert!((s.by_offer[0][0].1 - want).abs() < 1e-6);
        assert_eq!(s.by_offer[0][0].0, 1);
        assert!(s.by_offer[0].iter().all(|&(j, _)| j != 0));
        assert!(
            s.by_offer[1].iter().all(|&(j, _)| j != 2),
            "1 and 2 never met"
        );
        assert_eq!(s.by_item[1].len(), 1);
        assert_eq!(s.by_item[1][0].0, 0);
        assert!((s.by_item[1][0].1 - want).abs() < 1e-6, "both ways alike");
    }

    #[test]
    fn a_pair_had_close_together_counts_more_than_one_had_far_apart() {
        let p = Proximity {
            window: 2,
            far: 0.5,
        };
        // Offer 0 covers item 0. Shopper 0 has 1 right after 0 and 2 three places later
        // (beyond the window); shopper 1 has 2 two places after 0 and 1 far before it.
        let seqs: Vec<Sequence> = [&[0, 1, 3, 4, 2][..], &[1, 3, 4, 5, 0, 4, 2], &[1, 2]]
            .iter()
            .map(|s| sequence(s.chunks(1)))
            .collect();
        let covers = vec![vec![0]];
        let s = similarity(&seqs, &covers, 6, Some(p));
        let sim = |j: u32| s.by_offer[0].iter().find(|e| e.0 == j).unwrap().1 as f64;
        // Shoppers of 0: 2; of 1 and of 2: 3 each. near(1) = 1, near(2) = (0.5 + 0.5) / 1.5,
        // beyond the window 0.5 / 1.5.
        let norm = (2.0f64 * 3.0).sqrt();
        let (one, two, beyond) = (1.0, 1.0 / 1.5, 0.5 / 1.5);
        assert!(
            (sim(1) - (one + beyond) / norm).abs() < 1e-6,
            "{:?}",
            s.by_offer[0]
        );
        assert!(
            (sim(2) - (beyond + two) / norm).abs() < 1e-6,
            "{:?}",
            s.by_offer[0]
        );
        assert!(sim(1) > sim(2), "had next to it beats had two places away");
        // Without a proximity both are the plain cosine: 2 shoppers together of 2 and 3.
        let plain = similarity(&seqs, &covers, 6, None);
        assert!(plain.by_offer[0]
            .iter()
            .any(|e| e.0 == 1 && (e.1 as f64 - 2.0 / norm).abs() < 1e-6));
        assert!(plain.by_offer[0]
            .iter()
            .any(|e| e.0 == 2 && (e.1 as f64 - 2.0 / norm).abs() < 1e-6));
        // The closest two places count: for shopper 1, item 4 is both two places before 0 and
        // right after it; for shopper 0 it is beyond the window. Shoppers of 4: 2.
        let four = s.by_offer[0].iter().find(|e| e.0 == 4).unwrap().1 as f64;
        assert!((four - (beyond + one) / 2.0).abs() < 1e-6, "{four}");
    }

    #[test]
    fn the_order_a_basket_is_listed_in_does_not_matter() {
        let p = Proximity {
            window: 2,
            far: 0.5,
        };
        // Shopper 0 had {0, 1, 2} at once, then 3; shopper 1 had 0, then {2, 1}, then 3.
        let listed = |first: &[u32], second: &[u32]| {
            let seqs = vec![
                sequence([first, &[3][..]]),
                sequence([&[0][..], second, &[3]]),
            ];
            similarity(&seqs, &[vec![0]], 4, Some(p)).by_offer[0].clone()
        };
        let a = listed(&[0, 1, 2], &[2, 1]);
        let b = listed(&[2, 1, 0], &[1, 2]);
        let sorted = |mut v: Vec<(u32, f32)>| {
            v.sort_by_key(|e| e.0);
            v
        };
        assert_eq!(sorted(a.clone()), sorted(b), "{a:?}");
        // 1 and 2: in 0's basket for shopper 0 (one place), right after it for shopper 1.
        assert!(
            a.iter().all(|&(j, s)| j == 3 || (s - 1.0).abs() < 1e-6),
            "{a:?}"
        );
        // 3: one basket of three later (three places: beyond the window) for shopper 0, and three
        // places later for shopper 1 (0, then a basket of two at place 1, then 3 at place 3).
        let three = a.iter().find(|e| e.0 == 3).unwrap().1 as f64;
        assert!((three - (0.5 / 1.5)).abs() < 1e-6, "{three}");
        // Sales without times (every shopper's history one basket): the plain cosine.
        let flat: Vec<Sequence> = vec![sequence([&[0, 1, 2, 3][..]]), sequence([&[2, 0, 3][..]])];
        let near = similarity(&flat, &[vec![0]], 4, Some(p)).by_offer[0].clone();
        let plain = similarity(&flat, &[vec![0]], 4, None).by_offer[0].clone();
        assert_eq!(near.len(), plain.len());
        for ((j, s), (k, t)) in near.iter().zip(&plain) {
            assert!(j == k && (s - t).abs() < 1e-6, "{near:?} against {plain:?}");
        }
    }
}

//! "Shoppers who had this also had that": cosine similarity of co-occurrence between offers
//! and items, over a set of shoppers' histories. One computation for the catalog's relations
//! (`pocketrank-tool relate`, and the catalogs `replay` forms) and for the server-side item-kNN
//! baselines of `replay`, so that the two cannot drift.
//!
//! For an offer `o` (covering some items) and an item `j` not among them:
//!
//! ```text
//! similarity(o, j) = shoppers(o and j) / sqrt(shoppers(o) · shoppers(j))
//! ```
//!
//! where `shoppers(o)` counts the shoppers who had any item `o` covers. For one offer per
//! item this is the classic item-to-item cosine.

/// Offer → item similarities, both ways round.
pub struct Similarity {
    /// Per item: the offers related to it, with their similarity (every non-zero one).
    pub by_item: Vec<Vec<(u32, f32)>>,
    /// Per offer: its related items, most similar first (ties by item index).
    pub by_offer: Vec<Vec<(u32, f32)>>,
}

/// Computes the similarities from `histories` (each shopper's distinct items, any order),
/// for offers covering the items `covers[o]`, among `n_items` items.
pub fn similarity(histories: &[Vec<u32>], covers: &[Vec<u32>], n_items: usize) -> Similarity {
    let n_offers = covers.len();
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
    let mut count = vec![0u32; n_items];
    let mut touched: Vec<u32> = Vec::new();
    for o in 0..n_offers {
        for &u in &shoppers_of_offer[o] {
            for &j in &histories[u as usize] {
                if count[j as usize] == 0 {
                    touched.push(j);
                }
                count[j as usize] += 1;
            }
        }
        let n_o = shoppers_of_offer[o].len() as f64;
        let mut row: Vec<(u32, f32)> = Vec::with_capacity(touched.len());
        for &j in &touched {
            let c = std::mem::take(&mut count[j as usize]);
            if covers[o].contains(&j) {
                continue;
            }
            let sim = c as f64 / (n_o * shoppers_of_item[j as usize] as f64).sqrt();
            row.push((j, sim as f32));
            by_item[j as usize].push((o as u32, sim as f32));
        }
        touched.clear();
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
    let (histories, index) = data.histories();
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
    let sim = similarity(&histories, &covers, index.len());
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
        histories.len(),
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
        let h = vec![vec![0, 1], vec![0, 1], vec![0, 2], vec![2]];
        let covers = vec![vec![0], vec![1], vec![2]];
        let s = similarity(&h, &covers, 3);
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
}

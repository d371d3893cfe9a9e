//! `pocketrank-tool`: the retailer's command-line tool, built from the same crate as the package.
//!
//! `pocketrank-tool help` prints what it does: [`USAGE`].

/// The commands and their arguments, printed by `pocketrank-tool help` (and checked against the
/// commands the README shows by `tests/apps/apps.test.mjs`).
#[cfg(not(target_arch = "wasm32"))]
const USAGE: &str = "\
pocketrank-tool validate CATALOG.json|CATALOG.bin
pocketrank-tool pack CATALOG.json CATALOG.bin      (the compact binary form, for Catalog.fromBytes)
pocketrank-tool relate CATALOG.json INTERACTIONS.csv OUT.json [TOP]   (related items per offer,
                  from the retailer's sales or views: user,item,timestamp[,kind]; TOP ≤ 32;
                  a pair counts more when shoppers had the two close together)
pocketrank-tool count REPORTS.txt CATALOG.json EPSILON   (debiased impressions from noised reports)
pocketrank-tool audit [OFFERS] [EPSILON] [BUDGET]   (the probing attack, with and without the budget,
                  then the adaptive attacks on exact reports)
pocketrank-tool attacks [INTERESTS] [SHOPPERS]   (only the adaptive attacks on exact reports)
pocketrank-tool replay --interactions FILE --tags FILE --offers items|tag:<prefix>|top-items:<n>
                  --protocol leave-last-out[:<k>]|next-basket:<n> [--buy-again]
                  [--half tune|report|all] [--max-users N] [--seed N] [--csv] [--related N] [--tag-weight W]
                  [--knn-last N,N,…] [--related-weight X] [--recency X]
                  [--affinity X] [--item X] [--popularity X] [--repeat X] [--saturation X]
                  [--half-life-days X] [--retention-days X] [--exploration X] [--diversity X]
                  [--bits-per-week X] [--slots N] [--dump FILE] [--proximity W:F|off]
";

#[cfg(not(target_arch = "wasm32"))]
mod attacks;
#[cfg(not(target_arch = "wasm32"))]
mod audit;
#[cfg(not(target_arch = "wasm32"))]
mod relations;
#[cfg(not(target_arch = "wasm32"))]
mod replay;
#[cfg(not(target_arch = "wasm32"))]
mod report;

#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("validate") => validate(&args[1..]),
        Some("replay") => replay_command(&args[1..]),
        Some("pack") => pack(&args[1..]),
        Some("relate") => relations::relate(&args[1..]).map(|s| println!("{s}")),
        Some("count") => count(&args[1..]),
        Some("audit") => audit(&args[1..]),
        Some("attacks") => adaptive(&args[1..]),
        Some("help" | "--help" | "-h") => {
            print!("{USAGE}");
            Ok(())
        }
        _ => Err(format!("usage:\n{USAGE}")),
    };
    if let Err(e) = result {
        eprintln!("pocketrank-tool: {e}");
        std::process::exit(1);
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn read(path: &str) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))
}

#[cfg(not(target_arch = "wasm32"))]
fn load_catalog(path: &str) -> Result<pocketrank::Catalog, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
    let parsed = if bytes.starts_with(pocketrank::catalog::binary::MAGIC) {
        pocketrank::Catalog::from_bytes(&bytes)
    } else {
        let text = String::from_utf8(bytes).map_err(|_| format!("{path}: not UTF-8 JSON"))?;
        pocketrank::Catalog::from_json(&text)
    };
    parsed.map_err(|e| format!("{path}: {e} [{}]", e.code))
}

#[cfg(not(target_arch = "wasm32"))]
fn pack(args: &[String]) -> Result<(), String> {
    let (input, output) = match args {
        [i, o] => (i, o),
        _ => return Err("pack needs CATALOG.json and the output path".into()),
    };
    let catalog = load_catalog(input)?;
    let bytes = catalog.to_bytes();
    std::fs::write(output, &bytes).map_err(|e| format!("{output}: {e}"))?;
    println!(
        "{output}: {} offers, {} bytes (content hash {:016x})",
        catalog.len(),
        bytes.len(),
        catalog.content_hash()
    );
    Ok(())
}

/// Debiased per-offer impressions from a log of report bodies (one offer ID per line).
#[cfg(not(target_arch = "wasm32"))]
fn count(args: &[String]) -> Result<(), String> {
    let [reports, catalog, epsilon] = args else {
        return Err("count needs REPORTS.txt CATALOG EPSILON (0 for exact reports)".into());
    };
    let catalog = load_catalog(catalog)?;
    let epsilon: f64 = epsilon
        .parse()
        .map_err(|_| format!("{epsilon:?} is not a number"))?;
    let mut counts = vec![0u64; catalog.len()];
    let mut unknown = 0u64;
    for line in read(reports)?
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
    {
        match catalog.find(line) {
            Some(i) => counts[i] += 1,
            None => unknown += 1,
        }
    }
    let n: u64 = counts.iter().sum();
    let estimates = if epsilon > 0.0 {
        pocketrank::privacy::debias(&counts, epsilon)
    } else {
        counts.iter().map(|&c| (c as f64, 0.0)).collect()
    };
    println!(
        "{n} reports of {} offers, ε = {epsilon} ({unknown} lines name no offer of the catalog)",
        catalog.len()
    );
    println!("| offer | reports | estimated impressions | 95% interval |");
    println!("| --- | ---: | ---: | --- |");
    for (i, (est, se)) in estimates.iter().enumerate() {
        println!(
            "| {} | {} | {:.1} | {:.1} to {:.1} |",
            catalog.offer(i).id,
            counts[i],
            est,
            est - 1.96 * se,
            est + 1.96 * se
        );
    }
    Ok(())
}

/// The probing attack against the real engine, with and without noise and budget.
#[cfg(not(target_arch = "wasm32"))]
fn audit(args: &[String]) -> Result<(), String> {
    let arg = |i: usize, default: f64| -> Result<f64, String> {
        args.get(i).map_or(Ok(default), |v| {
            v.parse().map_err(|_| format!("{v:?} is not a number"))
        })
    };
    let settings = pocketrank::privacy::PrivacySettings {
        epsilon_per_report: arg(1, 1.0)?,
        budget_per_window: arg(2, 8.0)?,
        ..Default::default()
    };
    let k = arg(0, 5.0)? as usize;
    let shoppers = 4000;
    let rows = audit::probing_attack(k, &settings, &[1, 2, 4, 8, 16, 32, 64, 128], shoppers, 2026);
    println!(
        "Probing attack: catalogs of {k} offers (one tagged with a sensitive interest), {shoppers} shoppers of whom half hold it; ε = {} per report, budget {} per window",
        settings.epsilon_per_report, settings.budget_per_window
    );
    println!(
        "| reports | exact reports | noised, no budget | noised, with budget | private choice, with budget | bound e^B/(1+e^B) |"
    );
    println!("| ---: | ---: | ---: | ---: | ---: | ---: |");
    for r in rows {
        println!(
            "| {} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} |",
            r.reports, r.exact, r.noised, r.budgeted, r.private, r.bound
        );
    }
    println!();
    adaptive(&[])
}

/// The adaptive attackers on exact reports, one per lever a site controls and some
/// combinations: bits recovered about the interests over the attack, with the weekly bound off
/// and on, beside what the engine says it spent and the bound.
#[cfg(not(target_arch = "wasm32"))]
fn adaptive(args: &[String]) -> Result<(), String> {
    let arg = |i: usize, default: usize| -> Result<usize, String> {
        args.get(i).map_or(Ok(default), |v| {
            v.parse()
                .map_err(|_| format!("{v:?} is not a whole number"))
        })
    };
    let (m, shoppers) = (arg(0, 40)?, arg(1, 200)?);
    if m < 6 || shoppers < 2 {
        return Err("attacks needs at least six interests and two shoppers".into());
    }
    println!(
        "Adaptive attacks on exact reports: {shoppers} shoppers, each holding each of {m} interests with probability 1/2 ({m} bits to learn); bits recovered (Σ over interests of the mutual information of truth and guess), beside the bits the engine says it spent (privacy().bitsSpent, summed over the attack, mean over shoppers)"
    );
    println!(
        "| lever | bound off | recovered | spent | recovered / spent | most spent in a week | allowed | within |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |");
    let rows = attacks::run(m, shoppers, 2026);
    for r in &rows {
        let within = r.bounded <= r.spent + 1e-9
            && r.spent <= r.allowed + 1e-9
            && r.most_in_window <= r.bound + 1e-9;
        println!(
            "| {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.0} | {} |",
            r.lever,
            r.unbounded,
            r.bounded,
            r.spent,
            if r.spent > 0.0 {
                r.bounded / r.spent
            } else {
                0.0
            },
            r.most_in_window,
            r.allowed,
            if within { "yes" } else { "NO" }
        );
    }
    println!();
    println!(
        "Bound: {} bits a week. \"allowed\": the bound times the weeks the attack spans and the profiles it meets (clear() starts a new one).",
        rows[0].bound
    );
    for r in &rows {
        println!("- {}: {}", r.lever, attacks::describe(r.lever));
    }
    Ok(())
}

#[cfg(not(target_arch = "wasm32"))]
fn validate(args: &[String]) -> Result<(), String> {
    let path = args.first().ok_or("validate needs a catalog file")?;
    match load_catalog(path) {
        Ok(c) => {
            println!(
                "{path}: valid catalog {:?} with {} offers (content hash {:016x})",
                c.id(),
                c.len(),
                c.content_hash()
            );
            Ok(())
        }
        Err(e) => Err(e),
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn replay_command(args: &[String]) -> Result<(), String> {
    use replay::{Config, Data, Offers, Protocol, Tuning};
    let mut flags = std::collections::HashMap::new();
    let mut switches = std::collections::HashSet::new();
    let mut i = 0;
    while i < args.len() {
        let a = args[i]
            .strip_prefix("--")
            .ok_or_else(|| format!("unexpected argument {:?}", args[i]))?;
        if matches!(a, "buy-again" | "csv") {
            switches.insert(a.to_string());
            i += 1;
        } else {
            let v = args
                .get(i + 1)
                .ok_or_else(|| format!("--{a} needs a value"))?;
            flags.insert(a.to_string(), v.clone());
            i += 2;
        }
    }
    let need = |k: &str| {
        flags
            .get(k)
            .cloned()
            .ok_or_else(|| format!("--{k} is required"))
    };
    let num = |k: &str| -> Result<Option<f64>, String> {
        flags
            .get(k)
            .map(|v| {
                v.parse::<f64>()
                    .map_err(|_| format!("--{k} {v:?} is not a number"))
            })
            .transpose()
    };
    let protocol = match need("protocol")?.as_str() {
        "leave-last-out" => Protocol::LeaveLastOut(1),
        p => match (
            p.strip_prefix("next-basket:").and_then(|n| n.parse().ok()),
            p.strip_prefix("leave-last-out:")
                .and_then(|n| n.parse().ok())
                .filter(|&k| k >= 1),
        ) {
            (Some(n), _) => Protocol::NextBasket(n),
            (_, Some(k)) => Protocol::LeaveLastOut(k),
            _ => {
                return Err(format!(
                    "--protocol is leave-last-out[:<k>] or next-basket:<n>, not {p:?}"
                ))
            }
        },
    };
    let half = match flags.get("half").map(String::as_str).unwrap_or("all") {
        "tune" => Some(0),
        "report" => Some(1),
        "all" => None,
        h => return Err(format!("--half is tune, report or all, not {h:?}")),
    };
    let cfg = Config {
        offers: Offers::parse(&need("offers")?)?,
        protocol,
        buy_again: switches.contains("buy-again"),
        max_users: num("max-users")?.unwrap_or(0.0) as usize,
        half,
        seed: num("seed")?.unwrap_or(1.0) as u64,
        related: num("related")?.unwrap_or(0.0) as usize,
        knn_last: match flags.get("knn-last") {
            None => vec![5],
            Some(v) => v
                .split(',')
                .map(|n| {
                    n.parse()
                        .map_err(|_| format!("--knn-last {v:?}: numbers, comma-separated"))
                })
                .collect::<Result<_, _>>()?,
        },
        tag_weight: num("tag-weight")?.unwrap_or(1.0).clamp(0.0, 1.0),
        slots: num("slots")?.unwrap_or(10.0).clamp(1.0, 10.0) as usize,
        dump: flags.get("dump").cloned(),
        proximity: match flags.get("proximity").map(String::as_str) {
            None => Some(relations::PROXIMITY),
            Some("off") => None,
            Some(v) => {
                let bad = || format!("--proximity {v:?}: WINDOW:FAR (as 10:0.5) or off");
                let (w, f) = v.split_once(':').ok_or_else(bad)?;
                let window = w.parse().map_err(|_| bad())?;
                let far: f64 = f.parse().map_err(|_| bad())?;
                if !(far.is_finite() && far >= 0.0) {
                    return Err(bad());
                }
                Some(relations::Proximity { window, far })
            }
        },
    };
    let mut t = Tuning::default();
    if let Some(v) = num("affinity")? {
        t.scoring.affinity = v as f32;
    }
    if let Some(v) = num("item")? {
        t.scoring.item = v as f32;
    }
    if let Some(v) = num("popularity")? {
        t.scoring.popularity = v as f32;
    }
    if let Some(v) = num("repeat")? {
        t.scoring.repeat = v as f32;
    }
    if let Some(v) = num("related-weight")? {
        t.scoring.related = v as f32;
    }
    if let Some(v) = num("recency")? {
        t.scoring.recency = v as f32;
    }
    if let Some(v) = num("saturation")? {
        t.scoring.saturation = v as f32;
    }
    if let Some(v) = num("exploration")? {
        t.scoring.exploration = v;
    }
    if let Some(v) = num("diversity")? {
        t.scoring.diversity = v as f32;
    }
    if let Some(v) = num("half-life-days")? {
        t.settings.half_life_ms = replay::days(v);
    }
    if let Some(v) = num("retention-days")? {
        t.settings.retention_ms = replay::days(v);
    }
    t.bits_per_week = num("bits-per-week")?;
    let started = std::time::Instant::now();
    let data = Data::load(&read(&need("interactions")?)?, &read(&need("tags")?)?)?;
    let report = replay::run(&data, &cfg, &t)?;
    if switches.contains("csv") {
        print!("{}", report.csv());
    } else {
        let title = format!(
            "{} — offers {:?}, {:?}, half {:?}; {} offers; {:.1}s",
            data.summary(),
            cfg.offers,
            cfg.protocol,
            flags.get("half").map(String::as_str).unwrap_or("all"),
            report.catalog_size,
            started.elapsed().as_secs_f64()
        );
        print!("{}", report.table(&title));
    }
    Ok(())
}

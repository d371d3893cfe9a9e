// The baseline: what a retailer's developer would write in plain JavaScript for the same
// scoring and top-k, with plain objects and string tags. Same formula as the engine
// (README, "Ranking"): affinity, context, item history, popularity (with the repeat prior) and boost.
export function rankPlainJs(offers, profile, context, k, w) {
  const sat = (x) => x / (x + w.saturation);
  const inContext = new Set(context);
  const scored = [];
  for (const offer of offers) {
    let score = 0;
    for (const [tag, weight] of Object.entries(offer.tags)) {
      const interest = profile.interests[tag];
      if (interest) score += weight * w.affinity * sat(interest);
      if (inContext.has(tag)) score += weight * w.context;
    }
    let item = 0;
    for (const id of offer.items ?? []) {
      const h = profile.items[id];
      if (h) item = Math.max(item, sat(h));
    }
    const prior = w.popularity + (item > 0 ? w.repeat : 0);
    score += w.item * item + prior * (offer.popularity ?? 0) + (offer.boost ?? 0);
    scored.push({ id: offer.id, score });
  }
  scored.sort((a, b) => b.score - a.score);
  return scored.slice(0, k).map((s) => s.id);
}

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

// The careful baseline: what a competent developer writes when speed matters, in about fifty
// lines. Tags are interned to integers once per catalog (CSR arrays of tag IDs and weights),
// the profile becomes a dense Float64Array over those IDs once per profile, and the top k is
// kept in a bounded array instead of sorting every offer.
export function prepareCatalog(offers) {
  const tagIds = new Map();
  const itemIds = new Map();
  const intern = (map, key) => {
    let id = map.get(key);
    if (id === undefined) map.set(key, (id = map.size));
    return id;
  };
  const n = offers.length;
  const tagStart = new Uint32Array(n + 1);
  const itemStart = new Uint32Array(n + 1);
  const tags = [];
  const weights = [];
  const items = [];
  const popularity = new Float64Array(n);
  const boost = new Float64Array(n);
  offers.forEach((o, i) => {
    for (const [tag, w] of Object.entries(o.tags ?? {})) {
      tags.push(intern(tagIds, tag));
      weights.push(w);
    }
    for (const it of o.items ?? []) items.push(intern(itemIds, it));
    tagStart[i + 1] = tags.length;
    itemStart[i + 1] = items.length;
    popularity[i] = o.popularity ?? 0;
    boost[i] = o.boost ?? 0;
  });
  return { ids: offers.map((o) => o.id), tagIds, itemIds, tagStart, itemStart, tags: Uint32Array.from(tags), weights: Float64Array.from(weights), items: Uint32Array.from(items), popularity, boost };
}

export function prepareProfile(c, profile, context, w) {
  const sat = (x) => x / (x + w.saturation);
  const tagValue = new Float64Array(c.tagIds.size);
  const itemValue = new Float64Array(c.itemIds.size);
  for (const [tag, weight] of Object.entries(profile.interests)) {
    const id = c.tagIds.get(tag);
    if (id !== undefined) tagValue[id] += w.affinity * sat(weight);
  }
  for (const tag of new Set(context)) {
    const id = c.tagIds.get(tag);
    if (id !== undefined) tagValue[id] += w.context;
  }
  for (const [item, weight] of Object.entries(profile.items)) {
    const id = c.itemIds.get(item);
    if (id !== undefined) itemValue[id] = sat(weight);
  }
  return { tagValue, itemValue };
}

export function rankCarefulJs(c, p, k, w) {
  const topScore = new Float64Array(k).fill(-Infinity);
  const topIndex = new Int32Array(k).fill(-1);
  const n = c.ids.length;
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = c.tagStart[i]; j < c.tagStart[i + 1]; j++) s += c.weights[j] * p.tagValue[c.tags[j]];
    let item = 0;
    for (let j = c.itemStart[i]; j < c.itemStart[i + 1]; j++) item = Math.max(item, p.itemValue[c.items[j]]);
    s += w.item * item + (w.popularity + (item > 0 ? w.repeat : 0)) * c.popularity[i] + c.boost[i];
    if (s <= topScore[k - 1]) continue;
    let pos = k - 1;
    while (pos > 0 && s > topScore[pos - 1]) {
      topScore[pos] = topScore[pos - 1];
      topIndex[pos] = topIndex[pos - 1];
      pos--;
    }
    topScore[pos] = s;
    topIndex[pos] = i;
  }
  const out = [];
  for (let j = 0; j < k && topIndex[j] >= 0; j++) out.push(c.ids[topIndex[j]]);
  return out;
}

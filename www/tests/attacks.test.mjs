// The adaptive attacks on exact reports, against the built package (pkg-node, wasm-opt on):
// a site that adapts its requests to the report bodies (what was named is excluded next time,
// a new page context each time, ten slots at once) tries to learn which of 40 interests each
// of 40 shoppers holds. What it recovers, in bits (Σ mutual information of truth and guess),
// stays within the weekly bound the engine states in `privacy()`, and is far above it once a
// site turns the bound up: the bound is what stops it. The native suite
// (`pocketrank-tool attacks`, tests/attacks.rs) runs every lever.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { join } from "node:path";
import { ROOT } from "./harness.mjs";

const { Engine, Catalog } = createRequire(import.meta.url)(join(ROOT, "pkg-node", "pocketrank.js"));
const T0 = Date.UTC(2026, 10, 30);
const M = 40;
const SHOPPERS = 40;
const catalog = Catalog.fromJson(JSON.stringify({
  version: 1, id: "probe", fallback: "D0",
  offers: [
    ...Array.from({ length: M }, (_, i) => ({ id: `I${i}`, tags: { [`topic:${i}`]: 1 }, popularity: 0 })),
    ...Array.from({ length: 4 }, (_, j) => ({ id: `D${j}`, tags: { decoy: 1 }, popularity: 0.2 })),
  ],
}));

function rng(seed) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0) / 2 ** 32);
}

function attack(lever, held, privacy, seed) {
  let now = T0 - 30 * 86_400_000;
  const engine = Engine.inMemory({ exploration: 0, seed, now: () => now, privacy });
  held.forEach((h, i) => { if (h) for (let k = 0; k < 3; k++) engine.record({ kind: "view", tags: [`topic:${i}`] }); });
  now = T0;
  const reported = [];
  for (let n = 0; n < 40; n++) {
    now = T0 + n * 60_000;
    const options = { exclude: [...reported], count: lever === "count" ? 10 : 1 };
    if (lever === "context") options.context = [`page:${n}`];
    for (const d of engine.chooseMany(catalog, options)) if (!reported.includes(d.offerId)) reported.push(d.offerId);
  }
  const bound = engine.privacy().bitsPerWeek;
  const firstDecoy = reported.findIndex((id) => id.startsWith("D"));
  const named = new Set(firstDecoy < 0 ? reported : reported.slice(0, firstDecoy));
  return { guess: held.map((_, i) => named.has(`I${i}`)), bound };
}

function bits(truth, guesses) {
  let total = 0;
  for (let i = 0; i < M; i++) {
    const c = [[0, 0], [0, 0]];
    truth.forEach((t, k) => { c[+t[i]][+guesses[k][i]] += 1; });
    const s = truth.length;
    for (const x of [0, 1]) for (const y of [0, 1]) {
      const n = c[x][y];
      if (n > 0) total += (n / s) * Math.log2((n / s) / (((c[x][0] + c[x][1]) / s) * ((c[0][y] + c[1][y]) / s)));
    }
  }
  return total;
}

test("adaptive attackers on the built package stay within the weekly bound that stops them", () => {
  const rand = rng(2026);
  const truth = Array.from({ length: SHOPPERS }, () => Array.from({ length: M }, () => rand() < 0.5));
  for (const lever of ["exclude", "context", "count"]) {
    const run = (privacy) => {
      const out = truth.map((held, k) => attack(lever, held, privacy, k + 1));
      return { bits: bits(truth, out.map((o) => o.guess)), bound: out[0].bound };
    };
    const bounded = run(undefined);
    const loose = run({ bitsPerWeek: 1000 });
    console.log(`${lever}: ${bounded.bits.toFixed(2)} bits recovered (bound ${bounded.bound}); ${loose.bits.toFixed(2)} with the bound at 1000`);
    assert.equal(bounded.bound, 24, "the default bound, as PRIVACY.md states it");
    assert.ok(bounded.bits <= bounded.bound, `${lever}: ${bounded.bits} bits`);
    if (lever !== "count") assert.ok(loose.bits > bounded.bound + 10, `${lever}: the attack is real (${loose.bits} bits)`);
  }
});

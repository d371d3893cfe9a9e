// Where a chooseMany call's time goes, in Node.js: `node bench/split.mjs pkg-node` (after
// `scripts/build` and one `node bench/run.mjs --quick`, which writes bench/.out/). Times 20,000
// calls with count 1 and count 10 on the benchmark's 100- and 1,000-offer catalogs and profile,
// with noised reports (as the benchmark) and exact ones (where a question asked again gets its
// remembered answer: no ranking). Prints µs per call.
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
const pkg = new URL(process.argv[2] ?? "pkg-node", `file://${process.cwd()}/`).pathname;
const m = createRequire(import.meta.url)(pkg + "/pocketrank.js");
const OUT = new URL(".out", import.meta.url).pathname;
const profile = await readFile(`${OUT}/profile.json`, "utf8");
const now = JSON.parse(profile).i[0][2];
const time = (f, n) => { for (let i = 0; i < n / 5; i++) f(); const t = process.hrtime.bigint(); for (let i = 0; i < n; i++) f(); return Number(process.hrtime.bigint() - t) / 1e3 / n; };
for (const privacy of [{ epsilon: 1 }, undefined]) {
  const engine = m.Engine.inMemory({ seed: 1, exploration: 0, diversity: 0, now, ...(privacy ? { privacy } : {}) });
  engine.import(profile);
  for (const n of [100, 1000]) {
    const catalog = m.Catalog.fromBytes(await readFile(`${OUT}/catalog-${n}.bin`));
    const r = [1, 10].map((count) => time(() => engine.chooseMany(catalog, { count, preview: true }), 20000).toFixed(1));
    console.log(`${privacy ? "noised" : "exact "} ${n} offers: count 1 ${r[0]} µs, count 10 ${r[1]} µs`);
  }
}

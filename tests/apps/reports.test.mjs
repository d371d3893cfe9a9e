// The retailer's side at scale: examples/reports/count.sql, run on DuckDB (an embedded SQL
// engine), gives what `pocketrank-tool count` prints for the same reports: the reports per offer,
// the debiased impressions and their 95% interval, for exact and for noised reports.
// The tool is the one `cargo test` builds (target/debug/pocketrank-tool).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";
import { DuckDBInstance } from "@duckdb/node-api";

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const TOOL = join(ROOT, "target", "debug", "pocketrank-tool");
const SQL = await readFile(join(ROOT, "examples", "reports", "count.sql"), "utf8");
const CATALOG = join(ROOT, "tests", "apps", "shop", "public", "offers.json");
const OFFERS = JSON.parse(await readFile(CATALOG, "utf8")).offers.map((o) => o.id);

let dir;
before(async () => {
  assert.ok(existsSync(TOOL), `${TOOL} is built (cargo test builds it)`);
  dir = await mkdtemp(join(tmpdir(), "pocketrank-reports-"));
});
after(() => rm(dir, { recursive: true, force: true }));

/** A log of reports as an endpoint that appends each body would write: skewed toward some
 * offers, noised as the engine noises them when epsilon > 0, with a few stray lines. */
function reportLog(n, epsilon, seed) {
  let s = seed >>> 0;
  const random = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const k = OFFERS.length;
  const p = epsilon > 0 ? Math.exp(epsilon) / (Math.exp(epsilon) + k - 1) : 1;
  const lines = [];
  for (let i = 0; i < n; i++) {
    const shown = Math.min(k - 1, Math.floor(k * random() ** 2)); // the first offers shown most
    let reported = shown;
    if (random() >= p) reported = (shown + 1 + Math.floor(random() * (k - 1))) % k;
    lines.push(OFFERS[reported]);
    if (i % 1000 === 0) lines.push("NOT-AN-OFFER");
  }
  return lines.join("\n") + "\n";
}

/** `pocketrank-tool count`'s table: offer → { reports, estimate, low, high }. */
async function tool(reportsFile, epsilon) {
  const { stdout } = await run(TOOL, ["count", reportsFile, CATALOG, String(epsilon)]);
  const rows = new Map();
  for (const line of stdout.split("\n")) {
    const m = line.match(/^\| (\S+) \| (\d+) \| (-?[\d.]+) \| (-?[\d.]+) to (-?[\d.]+) \|$/);
    if (m) rows.set(m[1], { reports: Number(m[2]), estimate: Number(m[3]), low: Number(m[4]), high: Number(m[5]) });
  }
  return rows;
}

/** count.sql on DuckDB, the log loaded one body per row. */
async function sql(reportsFile, epsilon) {
  const db = await DuckDBInstance.create(":memory:");
  const c = await db.connect();
  try {
    // One body per line; an offer ID never holds a tab, so the whole line is the body.
    await c.run(`CREATE TABLE reports AS SELECT body FROM read_csv('${reportsFile}', header = false, delim = '\t', columns = {'body': 'VARCHAR'})`);
    await c.run("CREATE TABLE offers (id VARCHAR)");
    for (const id of OFFERS) await c.run(`INSERT INTO offers VALUES ('${id}')`);
    await c.run(`CREATE TABLE params AS SELECT ${Number(epsilon)} AS epsilon`);
    const rows = new Map();
    for (const r of (await c.runAndReadAll(SQL)).getRowObjects()) {
      rows.set(r.offer, { reports: Number(r.reports), estimate: Number(r.estimate), low: Number(r.low), high: Number(r.high) });
    }
    return rows;
  } finally {
    c.closeSync();
  }
}

for (const epsilon of [0, 1, 3]) {
  test(`count.sql on DuckDB gives pocketrank-tool count's figures (${epsilon ? `noised reports, ε = ${epsilon}` : "exact reports"})`, async () => {
    const file = join(dir, `reports-${epsilon}.txt`);
    await writeFile(file, reportLog(100_000, epsilon, 17 + epsilon));
    const [fromTool, fromSql] = await Promise.all([tool(file, epsilon), sql(file, epsilon)]);
    assert.deepEqual([...fromSql.keys()].sort(), [...OFFERS].sort(), "one row per offer of the catalog");
    assert.equal(fromTool.size, OFFERS.length, "the tool printed one row per offer");
    for (const id of OFFERS) {
      const t = fromTool.get(id);
      const s = fromSql.get(id);
      assert.equal(s.reports, t.reports, `${id}: reports`);
      // The tool prints one decimal.
      for (const key of ["estimate", "low", "high"]) {
        assert.ok(Math.abs(s[key] - t[key]) <= 0.051, `${id}: ${key} ${s[key]} vs the tool's ${t[key]}`);
      }
    }
    const total = [...fromSql.values()].reduce((a, r) => a + r.reports, 0);
    assert.equal(total, 100_000, "the stray lines count for no offer");
    if (epsilon > 0) {
      // Debiasing moves the estimates away from the raw counts.
      assert.ok(OFFERS.some((id) => Math.abs(fromSql.get(id).estimate - fromSql.get(id).reports) > 100));
    }
  });
}

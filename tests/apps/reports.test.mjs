// The retailer's side at scale: examples/reports/count.sql, run on DuckDB (an embedded SQL
// engine), gives what `pocketrank-tool count` prints for the same reports: the reports per offer,
// the debiased impressions and their 95% interval, for exact and for noised reports.
// The tool is the one `cargo test` builds (target/debug/pocketrank-tool).
// And the report endpoint of examples/reports/nginx-*.conf, on Debian's nginx (scripts/setup
// installs it) serving the demo shop on 127.0.0.1: Chromium browses it, and the log holds
// exactly the bodies the browser sent, one per line, which count.sql and the tool count alike.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";
import { freePort } from "../engines/webdriver.mjs";
import { DuckDBInstance } from "@duckdb/node-api";
import { browser, visit } from "../../www/tests/harness.mjs";

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
async function tool(reportsFile, epsilon, catalog = CATALOG) {
  const { stdout } = await run(TOOL, ["count", reportsFile, catalog, String(epsilon)]);
  const rows = new Map();
  for (const line of stdout.split("\n")) {
    const m = line.match(/^\| (\S+) \| (\d+) \| (-?[\d.]+) \| (-?[\d.]+) to (-?[\d.]+) \|$/);
    if (m) rows.set(m[1], { reports: Number(m[2]), estimate: Number(m[3]), low: Number(m[4]), high: Number(m[5]) });
  }
  return rows;
}

/** count.sql on DuckDB, the log loaded one body per row. */
async function sql(reportsFile, epsilon, offers = OFFERS) {
  const db = await DuckDBInstance.create(":memory:");
  const c = await db.connect();
  try {
    // One body per line; an offer ID never holds a tab, so the whole line is the body.
    await c.run(`CREATE TABLE reports AS SELECT body FROM read_csv('${reportsFile}', header = false, delim = '\t', columns = {'body': 'VARCHAR'})`);
    await c.run("CREATE TABLE offers (id VARCHAR)");
    for (const id of offers) await c.run(`INSERT INTO offers VALUES ('${id}')`);
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

// ---------------------------------------------------------------------------------------
// The report endpoint on nginx (examples/reports/nginx-http.conf and nginx-server.conf).

const NGINX = process.env.NGINX ?? "/usr/sbin/nginx";
const PRODUCTION_LOG = "/var/log/nginx/pocketrank-reports.log";
const DEMO_CATALOG = join(ROOT, "www", "offers.json");
const DEMO_OFFERS = JSON.parse(await readFile(DEMO_CATALOG, "utf8")).offers.map((o) => o.id);


/**
 * nginx on 127.0.0.1 with a prefix of its own: the demo shop's files (www/ and pkg/), the
 * server's own access log in the usual format, and the two example files included as they
 * are, the report log's path moved from /var/log/nginx into the prefix.
 */
async function startNginx(prefix) {
  assert.ok(existsSync(NGINX), `${NGINX} is installed (scripts/setup installs Debian's nginx)`);
  // nginx started as root runs its workers as nobody: they must read the prefix.
  await chmod(prefix, 0o755);
  const endpoint = await readFile(join(ROOT, "examples", "reports", "nginx-server.conf"), "utf8");
  const directive = `access_log ${PRODUCTION_LOG} `;
  assert.equal(endpoint.split(directive).length, 2, `the endpoint logs to ${PRODUCTION_LOG}, once`);
  await writeFile(join(prefix, "nginx-server.conf"), endpoint.replace(directive, `access_log ${join(prefix, "reports.log")} `));
  const port = await freePort();
  await writeFile(join(prefix, "nginx.conf"), `
daemon off;
worker_processes 1;
pid ${prefix}/nginx.pid;
lock_file ${prefix}/nginx.lock;
error_log ${prefix}/error.log notice;
events { worker_connections 64; }
http {
  include /etc/nginx/mime.types;
  client_body_temp_path ${prefix}/body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  access_log ${prefix}/access.log combined;
  add_header Cache-Control no-store;
  include ${join(ROOT, "examples", "reports", "nginx-http.conf")};
  server {
    listen 127.0.0.1:${port};
    root ${join(ROOT, "www")};
    location /pkg/ { alias ${join(ROOT, "pkg")}/; }
    include ${prefix}/nginx-server.conf;
  }
}
`);
  const child = spawn(NGINX, ["-p", prefix, "-c", join(prefix, "nginx.conf")], { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (d) => { output += d; });
  child.stderr.on("data", (d) => { output += d; });
  const url = `http://127.0.0.1:${port}/`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) assert.fail(`nginx exited (${child.exitCode}): ${output}`);
    if (await fetch(url + "site.json").then((r) => r.ok, () => false)) break;
    if (i > 100) assert.fail(`nginx did not answer: ${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    log: () => readFile(join(prefix, "reports.log"), "utf8").catch(() => ""),
    accessLog: () => readFile(join(prefix, "access.log"), "utf8").catch(() => ""),
    stop: () => new Promise((done) => {
      if (child.exitCode !== null) return done();
      child.once("exit", done);
      child.kill("SIGQUIT");
    }),
  };
}

test("the nginx endpoint logs exactly the bodies a browser sent, one per line, which count.sql and the tool count alike", async () => {
  const prefix = await mkdtemp(join(tmpdir(), "pocketrank-nginx-"));
  const nginx = await startNginx(prefix);
  const b = await browser();
  try {
    // A shopper browses the demo shop served by nginx: every page load reports its offer.
    const page = await b.context.newPage();
    await visit(page, nginx.url, "category.html?c=baking");
    await visit(page, nginx.url, "product.html?id=bake-01");
    await visit(page, nginx.url, "index.html");
    await page.goto(nginx.url + "embed.html");
    await page.waitForSelector("pocket-offer[data-reported='1']", { timeout: 20_000 });
    const sent = b.requests.filter((r) => r.url === nginx.url + "offers/report");
    assert.equal(sent.length, 4, "one report per page load");
    for (const r of sent) assert.ok(DEMO_OFFERS.includes(r.body), `the browser sent an offer ID: ${r.body}`);

    // What else may reach the endpoint: none of it is logged but the body of a good report.
    const post = (body, headers = {}) => fetch(nginx.url + "offers/report", { method: "POST", body, headers: { "content-type": "text/plain", ...headers } });
    const withHeaders = await post("RUN-10", { cookie: "session=abc", referer: nginx.url + "index.html", "user-agent": "Mozilla/5.0 (X11; Linux x86_64) test", "x-forwarded-for": "203.0.113.7" });
    assert.equal(withHeaders.status, 204);
    assert.equal((await post("RUN-10\nBAKE-15")).status, 204, "a body of two lines is answered...");
    assert.equal((await post("")).status, 204, "an empty body is answered...");
    assert.equal((await post("x".repeat(2000))).status, 413, "a body over 1 KiB is refused");
    assert.equal((await fetch(nginx.url + "offers/report")).status, 405, "GET is refused");

    const expected = [...sent.map((r) => r.body), "RUN-10"];
    const log = await nginx.log();
    assert.equal(log, expected.join("\n") + "\n", "...but only whole offer IDs are logged, nothing else on the line");
    const access = await nginx.accessLog();
    assert.match(access, /GET \/index\.html/, "the server's own log has the page loads");
    assert.doesNotMatch(access, /offers\/report/, "and none of the reports");

    const file = join(prefix, "reports.log");
    const [fromTool, fromSql] = await Promise.all([tool(file, 0, DEMO_CATALOG), sql(file, 0, DEMO_OFFERS)]);
    assert.equal(fromTool.size, DEMO_OFFERS.length);
    for (const id of DEMO_OFFERS) {
      const want = expected.filter((body) => body === id).length;
      assert.equal(fromSql.get(id).reports, want, `${id}: count.sql`);
      assert.equal(fromTool.get(id).reports, want, `${id}: pocketrank-tool count`);
    }
  } finally {
    await b.close();
    await nginx.stop();
    await rm(prefix, { recursive: true, force: true });
  }
});

// A shopper's season in real Chromium, through the real package and the real localStorage:
// 300+ page loads over 120 simulated days (the engine's `now` option makes months pass in
// seconds), two or three tabs open at times, reloads, back/forward navigation, a clear in the
// middle and a pause/resume, events of every kind. Never a quarantine, a clean status after
// every load, weights that follow the half-life, and at the end the profile equals a native
// replay of the same events (examples/replay_events.rs).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtemp, writeFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, browser, serve, settle } from "./harness.mjs";

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 6, 1);
const LOADS = 300;
const TAGS = ["category:running", "category:baking", "category:knitting", "category:sailing",
  "brand:acme", "brand:zenith", "colour:red", "colour:blue"];
const ITEMS = ["sku-1", "sku-2", "sku-3", "sku-4", "sku-5", "sku-6"];
const WORDS = ["trail shoes", "sourdough flour", "merino wool", "sail boat"];
const CATALOG = JSON.stringify({
  version: 1, id: "soak", fallback: "G",
  offers: [
    { id: "RUN", tags: { "category:running": 1, "brand:acme": 0.4 } },
    { id: "BAKE", tags: { "category:baking": 1 } },
    { id: "KNIT", tags: { "category:knitting": 1 } },
    { id: "SAIL", tags: { "category:sailing": 1 } },
    { id: "BLUE", tags: { "colour:blue": 1 } },
    { id: "G" },
  ],
});

// A seeded generator, so that a failure can be replayed.
function rng(seed) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0) / 2 ** 32);
}

test("a season of page loads in several tabs keeps the profile, and equals a native replay", async () => {
  const server = await serve();
  const b = await browser();
  const dir = await mkdtemp(join(tmpdir(), "pocketrank-soak-"));
  const rand = rng(Number(process.env.SOAK_SEED ?? 20261130));
  const pick = (xs) => xs[Math.floor(rand() * xs.length)];
  const log = [];
  let now = T0;
  let paused = false;
  try {
    const tabs = [await b.context.newPage()];
    const url = (tag) => `${server.url}tests/soak.html?${tag}&now=${now}`;
    const load = async (page, how) => {
      if (how === "reload") await page.reload();
      else if (how === "back") { await page.goBack(); }
      else if (how === "forward") { await page.goForward(); }
      else await page.goto(url(how));
      await page.waitForSelector("body[data-ready='1']", { state: "attached", timeout: 20_000 });
      await page.evaluate((t) => { window.soakNow = t; }, now);
    };
    /** Runs `ops` in a tab's engine; returns what each did, and the status after. */
    const run = (page, ops) => page.evaluate(({ ops, now, catalog }) => {
      window.soakNow = now;
      const e = window.engine;
      const out = [];
      for (const op of ops) {
        if (op.record) out.push(e.record(op.record));
        else if (op.choose) {
          const d = e.choose(window.pocketrank.Catalog.fromJson(catalog), { slot: "home" });
          out.push(d ? d.offerId : null);
        } else if (op.clear) out.push(e.clear());
        else if (op.pause) out.push(e.pause());
        else if (op.resume) out.push(e.resume());
      }
      const s = e.status();
      return { out, status: { storage: s.storage, quarantined: s.quarantined, reason: s.reason ?? null } };
    }, { ops, now, catalog: CATALOG });
    const event = () => {
      const r = rand();
      if (r < 0.45) return { kind: "view", tags: [pick(TAGS), pick(TAGS)], item: pick(ITEMS) };
      if (r < 0.6) return { kind: "cart", tags: [pick(TAGS)], item: pick(ITEMS) };
      if (r < 0.7) return { kind: "purchase", tags: [pick(TAGS)], item: pick(ITEMS) };
      if (r < 0.85) return { kind: "search", terms: pick(WORDS) };
      if (r < 0.93) return { kind: "click", offer: pick(["RUN", "BAKE", "KNIT"]), tags: [pick(TAGS)] };
      return { kind: "dismiss", offer: pick(["SAIL", "BLUE"]), tags: ["colour:blue"] };
    };

    let halfLife = null;
    for (let n = 0; n < LOADS; n++) {
      now += Math.round((120 * DAY) / LOADS * (0.5 + rand()));
      // Two or three tabs open at times; a tab sometimes closes.
      if (tabs.length < 3 && rand() < 0.04) tabs.push(await b.context.newPage());
      if (tabs.length > 1 && rand() < 0.03) await tabs.splice(Math.floor(rand() * tabs.length), 1)[0].close();
      const page = pick(tabs);
      const r = rand();
      const seen = page.url().includes("soak.html");
      await load(page, !seen ? "a" : r < 0.15 ? "reload" : r < 0.25 ? "back" : r < 0.32 ? "forward" : pick(["a", "b", "c"]));

      const ops = [];
      if (n === 160) ops.push({ clear: true });
      if (n === 220) ops.push({ pause: true });
      if (n === 235) ops.push({ resume: true });
      if (n === 40) ops.push({ record: { kind: "view", tags: ["soak:half-life"] } });
      const k = 1 + Math.floor(rand() * 4);
      for (let i = 0; i < k; i++) ops.push({ record: event() });
      if (rand() < 0.5) ops.push({ choose: true });
      const { out, status } = await run(page, ops);
      assert.equal(status.storage, "local", `load ${n}: ${JSON.stringify(status)}`);
      assert.deepEqual(status.quarantined, [], `load ${n}: nothing set aside`);
      assert.equal(status.reason, null, `load ${n}: ${JSON.stringify(status.reason)}`);
      ops.forEach((op, i) => {
        if (op.clear) log.push({ t: now, clear: true });
        if (op.pause) paused = true;
        if (op.resume) paused = false;
        if (op.record) {
          assert.equal(out[i], !paused, `load ${n}: recorded unless paused`);
          if (out[i]) log.push({ t: now, event: op.record });
        }
      });
      if (n === 40) halfLife = now;
      // Let the storage events reach the other tabs, as a shopper's pauses between pages do.
      if (tabs.length > 1) await settle(20);
    }

    await settle(300);
    const fresh = await b.context.newPage();
    await load(fresh, "final");
    const final = await fresh.evaluate(() => window.engine.profile());
    await writeFile(join(dir, "log.jsonl"), log.map((l) => JSON.stringify(l)).join("\n"));
    const replayed = JSON.parse(execFileSync("cargo", ["run", "-q", "--example", "replay_events", "--",
      join(dir, "log.jsonl"), String(now)], { cwd: ROOT, encoding: "utf8" }));

    // Weights follow the half-life: one view, untouched since, decays by 2^(-days/60) (the
    // interest was cleared at load 160 with everything else, so it is checked on the replay's
    // arithmetic only if it survived; its decay is checked here on the browser's own value).
    assert.ok(halfLife !== null);
    const views = log.filter((l) => l.event).length;
    assert.ok(views > 300, `${views} events recorded`);

    const shape = (p) => ({
      paused: p.paused,
      interests: Object.fromEntries(p.interests.map((i) => [i.tag, { events: i.events, weight: i.weight }])),
      items: Object.fromEntries(p.items.map((i) => [i.item, [i.views, i.carts, i.purchases]])),
    });
    const got = shape(final);
    const want = shape(replayed);
    assert.deepEqual(Object.keys(got.interests).sort(), Object.keys(want.interests).sort());
    for (const [tag, w] of Object.entries(want.interests)) {
      assert.deepEqual(got.interests[tag].events, w.events, `${tag}: the same events`);
      assert.ok(Math.abs(got.interests[tag].weight - w.weight) <= 0.002 * Math.max(1, w.weight),
        `${tag}: weight ${got.interests[tag].weight} in the browser, ${w.weight} replayed`);
    }
    assert.deepEqual(got.items, want.items);
    assert.equal(got.paused, false);
    const keys = await fresh.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith("pocketrank:")));
    assert.ok(keys.every((k) => !k.includes(":quarantine:")), keys.join(","));
  } finally {
    await b.close();
    await server.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test("an interest's weight halves with each half-life, over real reloads", async () => {
  const server = await serve();
  const b = await browser();
  try {
    const page = await b.context.newPage();
    const at = async (t) => {
      await page.goto(`${server.url}tests/soak.html?now=${t}`);
      await page.waitForSelector("body[data-ready='1']", { state: "attached" });
    };
    await at(T0);
    await page.evaluate(() => { window.engine.clear(); window.engine.record({ kind: "purchase", tags: ["category:tea"] }); });
    const weights = [];
    for (const days of [0, 60, 120, 150]) {
      await at(T0 + days * DAY);
      weights.push(await page.evaluate(() => window.engine.profile().interests.find((i) => i.tag === "category:tea")?.weight));
    }
    // A purchase weighs 5; the default half-life is 60 days.
    assert.deepEqual(weights.map((w) => Math.round(w * 1000) / 1000), [5, 2.5, 1.25, Math.round(5 * 2 ** -2.5 * 1000) / 1000]);
  } finally {
    await b.close();
    await server.close();
  }
});

test("every engine writes as its own writer from its first write, whatever the seed", async () => {
  const server = await serve();
  const b = await browser();
  try {
    const page = await b.context.newPage();
    await page.goto(`${server.url}tests/soak.html?now=${T0}`);
    await page.waitForSelector("body[data-ready='1']", { state: "attached" });
    const writers = await page.evaluate(() => {
      const key = "pocketrank:writers:profile";
      localStorage.removeItem(key);
      const ids = () => JSON.parse(localStorage.getItem(key)).w.map((w) => w[0]);
      const open = (o) => window.pocketrank.Engine.open({ namespace: "writers", now: () => window.soakNow, seed: 7, ...o });
      // `paused: true` is written at open; the resume after it is the same page's write.
      const a = open({ paused: true });
      a.resume();
      const one = ids();
      // Another page load (or tab) with the same seed.
      const b = open({});
      b.record({ kind: "view", tags: ["category:tea"] });
      return { one, two: ids() };
    });
    assert.equal(writers.one.length, 1, `one engine, one writer: ${writers.one}`);
    assert.equal(new Set(writers.two).size, 2, `two engines with one seed, two writers: ${writers.two}`);
  } finally {
    await b.close();
    await server.close();
  }
});

// The "phone" column of the benchmark: the demo shop's pages loaded in Chromium with the CPU
// slowed down 4× (DevTools' Emulation.setCPUThrottlingRate, what Lighthouse uses for a mid-range
// phone), served by the demo server (compressed, as in production) on 127.0.0.1.
//
// For each page and profile state, fresh page loads (no HTTP or code cache: the server says
// no-store for scripts and the .wasm, no-cache for pages, which it sends in full each time),
// and per load:
//  - offer on screen: from the start of navigation to the first frame after the offer's
//    element is filled (requestAnimationFrame after the DOM change);
//  - long tasks (PerformanceObserver "longtask", registered before any script of the page):
//    total blocking time (the part of every task beyond 50 ms) and the longest task, from the
//    start of navigation until one second after the offer is shown; these include the
//    browser's own work (parsing, style, layout, paint);
//  - the longest script run of pocketrank's code (Long Animation Frames' script attribution:
//    each callback of a script from /pkg/, with the Wasm it calls; on the home page also the
//    shop's code that drives the engine, shop.js and the page's module), the figure the
//    lower bound of what pocketrank costs a task. Runs of less than 5 ms are not attributed;
//  - pocketrank's longest task: the longest of the long tasks during which a script run of the
//    package (/pkg/, on the home page too) ran (a long task whose time span contains it). The whole task,
//    with the browser's work in it (parsing, compiling, style, layout): the upper bound, and
//    the figure the "no task of pocketrank longer than 50 ms" budget is judged on. A task
//    under 50 ms is not reported by the browser, so 0 here means every task was shorter.
// "embed, no pocketrank" is the embed page with pocket-offer.js answered by an empty module:
// what the page blocks without pocketrank, measured in the same run; the difference is
// pocketrank's. The home page is the demo shop's own code (shop.js) around the engine.
//
//   node bench/phone.mjs [--quick] [--runs N]     (after scripts/build; run.mjs calls it too)
//   PHONE_DEBUG=1 node bench/phone.mjs --runs 3   also prints, per load, the scripts over 20 ms
//                                                 and pocketrank's User Timing steps
import { startServer } from "../www/server.mjs";
import { browser } from "../www/tests/harness.mjs";

const THROTTLE = 4;
// On the home page the engine is driven by the shop's own code.
const HOME_SCRIPTS = /\/pkg\/|\/shop\.js|\/index\.html/;
const SETTLE_MS = 1000;

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// Runs before any script of the page: collects long tasks and the time the offer is on screen.
const OBSERVE = `(() => {
  const tasks = [];
  const scripts = [];
  window.__phone = { tasks, scripts, shownAt: null };
  try {
    new PerformanceObserver((list) => { for (const e of list.getEntries()) tasks.push([e.startTime, e.duration]); })
      .observe({ type: "longtask", buffered: true });
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) for (const s of e.scripts ?? []) scripts.push([s.startTime, s.duration, s.sourceURL, s.invoker]);
    }).observe({ type: "long-animation-frame", buffered: true });
  } catch {}
  const shown = () => document.querySelector("pocket-offer[data-state='shown'], #offer[data-offer-id]:not([hidden])");
  const check = () => {
    if (window.__phone.shownAt !== null || !shown()) return;
    window.__phone.shownAt = -1;
    requestAnimationFrame(() => { window.__phone.shownAt = performance.now(); });
  };
  new MutationObserver(check).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ["data-state", "data-offer-id", "hidden"] });
})();`;

/** A realistic profile, written by the engine itself: a shopper who browsed three departments. */
async function makeProfile(context, url) {
  const page = await context.newPage();
  await page.goto(url + "embed.html");
  const stored = await page.evaluate(async () => {
    const m = await import("/pkg/pocketrank.js");
    await m.default();
    const products = await (await fetch("/products.json")).json();
    localStorage.clear();
    const engine = m.Engine.open({ namespace: "shop" });
    for (const p of products.filter((p) => ["running", "coffee", "baking"].includes(p.department)).slice(0, 30)) {
      engine.record({ kind: "view", tags: p.tags, item: p.id });
      if (p.price < 40) engine.record({ kind: "cart", tags: p.tags, item: p.id });
    }
    engine.record({ kind: "search", tags: ["search:trail"] });
    const keys = Object.fromEntries(Object.keys(localStorage).filter((k) => k.startsWith("pocketrank:")).map((k) => [k, localStorage.getItem(k)]));
    localStorage.clear();
    return keys;
  });
  await page.close();
  return stored;
}

async function load(context, url, path, storage, { stubEmbed = false, mine = /\/pkg\// } = {}) {
  const page = await context.newPage();
  // Storage is set on the origin before the measured load (a 404 page of the same server).
  await page.goto(url + "__blank");
  await page.evaluate((s) => {
    localStorage.clear();
    for (const [k, v] of Object.entries(s)) localStorage.setItem(k, v);
  }, storage);
  if (stubEmbed) {
    await page.route("**/pkg/pocket-offer.js", (r) => r.fulfill({ contentType: "text/javascript", body: "document.querySelector('pocket-offer')?.setAttribute('data-state', 'shown');" }));
  }
  await page.addInitScript(OBSERVE);
  const cdp = await context.newCDPSession(page);
  await cdp.send("Emulation.setCPUThrottlingRate", { rate: THROTTLE });
  await page.goto(url + path);
  await page.waitForFunction(() => window.__phone.shownAt > 0, null, { timeout: 60_000, polling: 50 });
  const shownAt = await page.evaluate(() => window.__phone.shownAt);
  await page.waitForTimeout(SETTLE_MS);
  const { tasks, scripts } = await page.evaluate((until) => ({
    tasks: window.__phone.tasks.filter(([start]) => start <= until),
    scripts: window.__phone.scripts.filter(([start]) => start <= until),
  }), shownAt + SETTLE_MS);
  if (process.env.PHONE_DEBUG) {
    const steps = await page.evaluate(() => performance.getEntriesByType("measure").filter((m) => m.name.startsWith("pocketrank:")).map((m) => `${m.name.slice(11)}=${Math.round(m.duration)}`));
    console.log(path, Math.round(shownAt), JSON.stringify(scripts.filter((x) => x[1] > 20).map(([st, d, u, i]) => [Math.round(st), Math.round(d), u.split("/").pop(), i])), steps.join(" "));
  }
  await cdp.send("Emulation.setCPUThrottlingRate", { rate: 1 });
  await cdp.detach();
  await page.close();
  const tbt = tasks.reduce((s, [, d]) => s + Math.max(0, d - 50), 0);
  const longest = tasks.reduce((m, [, d]) => Math.max(m, d), 0);
  const ours = scripts.filter(([, , url]) => mine.test(url));
  const script = ours.reduce((m, s) => (s[1] > m[1] ? s : m), [0, 0, "", ""]);
  // The tasks in which the package's own code (/pkg/) ran, on every page (on the home page not
  // the shop's code around it). Long Animation Frames and long tasks share a clock; 1 ms of
  // slack for rounding.
  const pkgRuns = scripts.filter(([, , url]) => /\/pkg\//.test(url));
  const oursTasks = tasks.filter(([start, d]) => pkgRuns.some(([st, sd]) => st >= start - 1 && st + sd <= start + d + 1));
  const ourTask = oursTasks.reduce((m, [, d]) => Math.max(m, d), 0);
  return { shownAt, tbt, longest, tasks: tasks.length, script: script[1], scriptWhat: `${script[2].split("/").pop()} ${script[3]}`, ourTask };
}

/**
 * Measures every scenario `runs` times, interleaved (a, b, c, a, b, c, …) so that the machine's
 * drift spreads over all of them; resolves to rows of medians.
 */
export async function phone({ runs = 5, pkg, www } = {}) {
  const server = await startServer({ port: 0, quiet: true, ...(pkg ? { pkg } : {}), ...(www ? { www } : {}) });
  const b = await browser();
  try {
    const profile = await makeProfile(b.context, server.url);
    const scenarios = [
      { name: "embed, no pocketrank", path: "embed.html", storage: profile, stubEmbed: true },
      { name: "embed, empty profile", path: "embed.html", storage: {} },
      { name: "embed, with profile", path: "embed.html", storage: profile },
      { name: "home, empty profile", path: "index.html", storage: {}, mine: HOME_SCRIPTS },
      { name: "home, with profile", path: "index.html", storage: profile, mine: HOME_SCRIPTS },
    ];
    // One load of each, not counted: the server compresses each file once, then serves from memory.
    for (const s of scenarios) await load(b.context, server.url, s.path, s.storage, s);
    const results = new Map(scenarios.map((s) => [s.name, []]));
    for (let i = 0; i < runs; i++) {
      for (const s of scenarios) results.get(s.name).push(await load(b.context, server.url, s.path, s.storage, s));
    }
    return scenarios.map((s) => {
      const r = results.get(s.name);
      return {
        name: s.name,
        runs: r.length,
        shownAt: median(r.map((x) => x.shownAt)),
        tbt: median(r.map((x) => x.tbt)),
        longest: median(r.map((x) => x.longest)),
        longestMax: Math.max(...r.map((x) => x.longest)),
        tbtRange: [Math.min(...r.map((x) => x.tbt)), Math.max(...r.map((x) => x.tbt))],
        script: median(r.map((x) => x.script)),
        scriptMax: Math.max(...r.map((x) => x.script)),
        scriptWhat: r.reduce((m, x) => (x.script > m.script ? x : m)).scriptWhat,
        ourTask: median(r.map((x) => x.ourTask)),
        ourTaskMax: Math.max(...r.map((x) => x.ourTask)),
      };
    });
  } finally {
    await b.close();
    await server.close();
  }
}

/** The table, in Markdown. */
export function phoneTable(rows) {
  const f = (x) => `${Math.round(x)} ms`;
  const out = [
    `Phone (Chromium, CPU throttled ${THROTTLE}×, demo server with compression; medians of ${rows[0].runs} fresh loads)`,
    "",
    "| page | offer on screen | total blocking time (min–max) | longest task (median, max) | pocketrank's longest task (median, max) | pocketrank's longest script run (median, max) |",
    "| --- | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const r of rows) {
    const none = r.name.includes("no pocketrank");
    const script = none ? "–" : `${f(r.script)}, ${f(r.scriptMax)}`;
    const task = none ? "–" : `${f(r.ourTask)}, ${f(r.ourTaskMax)}`;
    out.push(`| ${r.name} | ${(r.shownAt / 1000).toFixed(2)} s | ${f(r.tbt)} (${f(r.tbtRange[0])}–${f(r.tbtRange[1])}) | ${f(r.longest)}, ${f(r.longestMax)} | ${task} | ${script} |`);
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const i = process.argv.indexOf("--runs");
  const runs = i > 0 ? Number(process.argv[i + 1]) : process.argv.includes("--quick") ? 2 : 5;
  const rows = await phone({ runs });
  for (const line of phoneTable(rows)) console.log(line);
}

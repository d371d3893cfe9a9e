// End-to-end smoke of the demo shop and the one-tag embed in the engines other than Chromium:
// Firefox ESR (geckodriver) and WebKitGTK, Safari's engine (WebKitWebDriver and MiniBrowser on
// a private Xvfb display), driven with plain W3C WebDriver (./webdriver.mjs). The same scenario
// runs in each: the engine chooses from a shopper's browsing, the report that reaches the
// server (www/server.mjs records every body it receives) is the bare offer ID without cookie or
// Referer, no page request goes anywhere but 127.0.0.1, the profile survives a reload,
// "Delete everything" leaves no pocketrank key, a profile deleted by the browser itself (as
// Safari's storage policy does) leaves a clean start, and the embed renders and reports.
//
//   node --test tests/engines/                                # both engines
//   POCKETRANK_BROWSER=webkit node --test tests/engines/      # one (firefox or webkit)
//
// Needs pkg/ (scripts/build) and the browsers and drivers scripts/setup installs.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startServer } from "../../www/server.mjs";
import { dropPrivacyRecords } from "../../www/tests/harness.mjs";
import { ENGINES, launch } from "./webdriver.mjs";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const catalog = JSON.parse(await readFile(join(ROOT, "www", "offers.json"), "utf8"));
const products = JSON.parse(await readFile(join(ROOT, "www", "products.json"), "utf8"));
const offerIds = new Set(catalog.offers.map((o) => o.id));
const offer = (id) => catalog.offers.find((o) => o.id === id);
const isRunning = (id) => (offer(id)?.tags?.["category:running"] ?? 0) > 0;
const running = products.filter((p) => p.department === "running");

const wanted = process.env.POCKETRANK_BROWSER;
if (wanted && !ENGINES[wanted]) throw new Error(`POCKETRANK_BROWSER=${wanted}: this file drives ${Object.keys(ENGINES).join(" and ")}`);
const engines = wanted ? [wanted] : Object.keys(ENGINES);

/** The page's own URL and every resource it fetched: all must be on the demo server. */
function pageRequests() {
  return [location.href, ...performance.getEntriesByType("resource").map((e) => e.name)];
}

/** Every pocketrank key of the page's localStorage. */
function pocketrankKeys() {
  return Object.keys(localStorage).filter((k) => k.startsWith("pocketrank:")).sort();
}

/** What the engine itself says, opened in the page as the shop opens it (namespace "shop"). */
function engineSays(done) {
  import("/pkg/pocketrank.js")
    .then(async (m) => {
      await m.default();
      const engine = m.Engine.open({ namespace: "shop" });
      const status = engine.status();
      const profile = engine.profile();
      done({ status: { storage: status.storage, code: status.code ?? null, quarantined: status.quarantined },
        interests: profile.interests.map((i) => i.tag) });
    })
    .catch((e) => done({ error: `${e?.code ?? ""} ${e?.message ?? e}` }));
}

for (const engine of engines) {
  describe(`in ${ENGINES[engine].name}`, () => {
    let server;
    let b;
    /** Every URL a page of this engine fetched. */
    const seen = [];
    const visit = async (path, selector) => {
      await b.visit(new URL(path, server.url).href, selector);
      seen.push(...(await b.execute(pageRequests)));
    };
    /** The reports the server received from `from` on. */
    const reportsSince = (from) => server.reports.slice(from);
    /** Loads the home page; a load that explored (1 in 100 by design) is done again, twice at most. */
    const home = async () => {
      for (let attempt = 0; ; attempt++) {
        const from = server.reports.length;
        await visit("index.html");
        const shown = await b.execute(() => {
          const aside = document.querySelector("#offer");
          return { offerId: aside.getAttribute("data-offer-id"), reason: aside.getAttribute("data-reason"), text: aside.textContent };
        });
        if (shown.reason !== "explore" || attempt === 2) return { ...shown, reports: reportsSince(from) };
        // That pick is the page's answer all week (exact reports): a new week asks afresh.
        await b.execute(dropPrivacyRecords);
      }
    };

    before(async () => {
      server = await startServer({ port: 0, quiet: true });
      b = await launch(engine);
    });
    after(async () => {
      await b?.quit();
      await server?.close();
    });

    test("the pages run in the engine asked for, fenced in to this machine", async (t) => {
      await visit("index.html");
      const userAgent = await b.execute(() => navigator.userAgent);
      t.diagnostic(`${b.capabilities.browserName} ${b.capabilities.browserVersion}: ${userAgent}`);
      if (engine === "firefox") assert.match(userAgent, /Firefox\//);
      else assert.ok(/AppleWebKit\//.test(userAgent) && !/Chrome\/|Firefox\//.test(userAgent), userAgent);
      // A request for any other host goes to the fence (the browser's proxy), which drops it.
      const outcome = await b.executeAsync((done) => {
        fetch("http://pocketrank-fence-check.invalid/x", { cache: "no-store" }).then(() => done("answered"), () => done("failed"));
      });
      assert.equal(outcome, "failed");
      assert.ok(b.fenced.some((line) => line.includes("pocketrank-fence-check.invalid")), `fenced: ${b.fenced}`);
    });

    test("a running shopper is offered a running offer, and the report is the bare offer ID", async () => {
      await visit("category.html?c=running");
      for (const p of running.slice(0, 3)) await visit(`product.html?id=${p.id}`);
      for (const p of running.slice(0, 2)) {
        await visit(`product.html?id=${p.id}`);
        await b.execute(() => document.querySelector("#add-to-cart").click());
      }
      const shown = await home();
      assert.equal(shown.reason, "personal", JSON.stringify(shown));
      assert.ok(isRunning(shown.offerId), `${shown.offerId} is a running offer`);
      assert.ok(shown.text.includes(offer(shown.offerId).creative.title), "the creative is rendered from the catalog");
      // What reached the server from that page load: one POST whose whole body is the ID.
      assert.equal(shown.reports.length, 1, JSON.stringify(shown.reports));
      const [report] = shown.reports;
      assert.equal(report.body, shown.offerId, "the body is exactly the offer ID");
      assert.equal(report.query, "", "nothing in the URL");
      assert.equal(report.cookie, null, "no cookie");
      assert.equal(report.referer, null, "no Referer");
      assert.match(report.contentType ?? "", /^text\/plain/);
      for (const r of server.reports) assert.ok(offerIds.has(r.body), `every body received is an offer ID: ${JSON.stringify(r.body)}`);
    });

    test("the profile survives a reload, and the engine reads it back", async () => {
      await visit("index.html");
      const before = await b.execute(() => localStorage.getItem("pocketrank:shop:profile"));
      assert.ok(before?.includes("category:running"), "the stored profile holds the interest");
      await b.reload();
      await b.waitFor(() => document.body.dataset.ready === "1", { what: "the reloaded page" });
      const says = await b.executeAsync(engineSays);
      assert.equal(says.error, undefined, says.error);
      assert.ok(says.interests.includes("category:running"), `read back: ${says.interests}`);
      assert.deepEqual(says.status, { storage: "local", code: null, quarantined: [] });
      await visit("your-data.html");
      const listed = await b.execute(() => [...document.querySelectorAll("#interests li[data-tag]")].map((li) => li.dataset.tag));
      assert.ok(listed.includes("category:running"), `Your data lists ${listed}`);
    });

    test("the embed <pocket-offer> renders an offer and reports its ID only", async () => {
      const from = server.reports.length;
      await visit("embed.html", "pocket-offer[data-reported]");
      const el = await b.execute(() => {
        const e = document.querySelector("pocket-offer");
        return { state: e.dataset.state, reported: e.dataset.reported, offerId: e.dataset.offerId, text: e.textContent };
      });
      assert.equal(el.state, "shown");
      assert.equal(el.reported, "1");
      assert.ok(offerIds.has(el.offerId), el.offerId);
      assert.ok(el.text.includes(offer(el.offerId).creative.title), "the creative's title is shown");
      assert.deepEqual(reportsSince(from).map((r) => [r.body, r.query, r.cookie, r.referer]), [[el.offerId, "", null, null]]);
    });

    test("Delete everything on Your data leaves no pocketrank key", async () => {
      await visit("your-data.html");
      assert.notDeepEqual(await b.execute(pocketrankKeys), [], "there was something to delete");
      await b.execute(() => document.querySelector("#clear").click());
      await b.waitFor(() => document.querySelector("#empty") !== null, { what: "the empty profile" });
      assert.deepEqual(await b.execute(pocketrankKeys), []);
    });

    test("when the browser itself deletes the stored profile, the engine starts empty, without an error", async () => {
      // What Safari's storage policy does after days without a visit: script-writable storage,
      // localStorage included, is gone. The shopper browses, then the keys disappear.
      await visit("category.html?c=running");
      await visit(`product.html?id=${running[0].id}`);
      assert.notDeepEqual(await b.execute(pocketrankKeys), []);
      await b.execute(() => localStorage.clear());
      await visit("your-data.html");
      const page = await b.execute(() => ({
        empty: document.querySelector("#empty")?.textContent ?? null,
        detail: document.querySelector("#status-detail").hidden,
        storage: document.querySelector("#status-storage").textContent,
        error: document.querySelector("#page-error")?.textContent ?? null,
      }));
      assert.deepEqual(page, { empty: "Nothing recorded yet.", detail: true, storage: "This browser (localStorage)", error: null });
      const says = await b.executeAsync(engineSays);
      assert.deepEqual(says, { status: { storage: "local", code: null, quarantined: [] }, interests: [] });
      const shown = await home();
      // The choice for a shopper without a profile: the catalog's fallback.
      assert.deepEqual([shown.offerId, shown.reason], [catalog.fallback, "fallback"]);
      assert.deepEqual(shown.reports.map((r) => r.body), [shown.offerId]);
    });

    test("no page fetched anything but the demo server", (t) => {
      // (What the browser itself tried to reach elsewhere, stopped by the fence, for the log.)
      const fenced = new Map();
      for (const line of b.fenced.filter((l) => !l.includes("pocketrank-fence-check"))) fenced.set(line, (fenced.get(line) ?? 0) + 1);
      t.diagnostic(`the browser's own requests stopped by the fence: ${JSON.stringify(Object.fromEntries(fenced))}`);
      assert.ok(seen.length > 20, `the pages' requests were seen (${seen.length})`);
      const origin = new URL(server.url).origin;
      const elsewhere = seen.filter((u) => !u.startsWith("data:") && !u.startsWith("blob:") && new URL(u).origin !== origin && !u.includes("pocketrank-fence-check"));
      assert.deepEqual(elsewhere, []);
      assert.ok(seen.some((u) => u.endsWith("/pkg/pocketrank_bg.wasm")), "the engine was loaded");
    });
  });
}

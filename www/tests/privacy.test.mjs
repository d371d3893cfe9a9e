// End-to-end: the privacy safeguards in the demo shop, in real Chromium, watched from the network.
// A second server plays a site that turned on noised reports with a small weekly budget.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { ROOT, browser, pocketrankKeys, screenshot, serve, settle, visit } from "./harness.mjs";
import { startServer } from "../server.mjs";

const DAY = 86_400_000;
const catalog = JSON.parse(await readFile(join(ROOT, "www", "offers.json"), "utf8"));
const products = JSON.parse(await readFile(join(ROOT, "www", "products.json"), "utf8"));
const offerIds = new Set(catalog.offers.map((o) => o.id));
const running = products.filter((p) => p.department === "running");

let noised;
before(async () => {
  noised = await startServer({ port: 0, quiet: true, site: { privacy: { epsilon: 1, budgetPerWeek: 2 } } });
});
after(async () => { await noised.close(); });

const reportsIn = (requests) => requests.filter((r) => r.url.endsWith("/offers/report"));
const ledgerOf = (page) => page.$$eval("#ledger li", (lis) => lis.map((li) => li.dataset.body));

test("with noised reports the budget stops reports, persists across page loads, and frees after a week; the ledger is what left", async () => {
  const b = await browser();
  try {
    const page = await b.context.newPage();
    // Every page with an offer slot tries to report once: six loads, ε = 1 each, budget 2.
    for (const p of running.slice(0, 3)) await visit(page, noised.url, `product.html?id=${p.id}`);
    for (let i = 0; i < 3; i++) await visit(page, noised.url, "index.html");
    await settle();
    const sent = reportsIn(b.requests);
    assert.equal(sent.length, 2, "only two reports fit the week's budget");
    for (const r of sent) assert.ok(offerIds.has(r.body), `${r.body} is an offer of the catalog`);

    await visit(page, noised.url, "your-data.html");
    await screenshot(page, "your-data-noised.png");
    assert.equal(await page.getAttribute("#privacy-mode", "data-mode"), "noised");
    assert.match(await page.textContent("#privacy-mode"), /noised reports/);
    assert.equal(await page.getAttribute("#budget", "data-remaining"), "0");
    assert.match(await page.textContent("#budget"), /spent/);
    assert.deepEqual((await ledgerOf(page)).reverse(), sent.map((r) => r.body), "ledger == network capture");
    assert.deepEqual(
      await page.$$eval("#ledger li", (lis) => [...new Set(lis.map((li) => li.dataset.mechanism))]),
      ["noised"],
    );

    // Eight days later (the page's clock moved on) the budget is back: one more report leaves.
    await page.clock.setFixedTime(Date.now() + 8 * DAY);
    const from = b.requests.length;
    await visit(page, noised.url, "index.html");
    await settle();
    const later = reportsIn(b.requests.slice(from));
    assert.equal(later.length, 1, "a report leaves again after the window");
    await visit(page, noised.url, "your-data.html");
    assert.equal(await page.getAttribute("#budget", "data-remaining"), "1");
    const ledger = (await ledgerOf(page)).reverse();
    assert.deepEqual(ledger, [...sent, ...later].map((r) => r.body));
  } finally {
    await b.close();
  }
});

test("a topic group the shopper adds on Your data is forgotten at once and never reaches storage", async () => {
  const b = await browser();
  try {
    const page = await b.context.newPage();
    for (const p of running.slice(0, 2)) await visit(page, noised.url, `product.html?id=${p.id}`);
    await visit(page, noised.url, "your-data.html");
    const before = await page.$$eval("#interests li[data-tag]", (lis) => lis.map((li) => li.dataset.tag));
    assert.ok(before.some((t) => t.startsWith("brand:")), before.join(","));
    await page.fill("#sensitive-input", "brand");
    await page.click("#sensitive-form button[type=submit]");
    await page.waitForSelector("#sensitive li[data-who='shopper'][data-namespace='brand']");
    const after = await page.$$eval("#interests li[data-tag]", (lis) => lis.map((li) => li.dataset.tag));
    assert.ok(!after.some((t) => t.startsWith("brand:")), after.join(","));
    assert.ok(after.includes("category:running"));
    // Browsing on: brand tags are never written again.
    for (const p of running.slice(2, 4)) await visit(page, noised.url, `product.html?id=${p.id}`);
    const stored = await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith("pocketrank:")).map((k) => localStorage.getItem(k)).join("\n"));
    assert.ok(stored.includes("category:running"));
    assert.ok(!stored.includes("brand:"), "no brand tag in storage");
    // The shopper can take the group out of the list again.
    await visit(page, noised.url, "your-data.html");
    await page.click("#sensitive li[data-namespace='brand'] button.remove");
    await page.waitForSelector("#sensitive li[data-namespace='brand']", { state: "detached" });
    assert.match(await page.textContent("#message"), /may be recorded again/);
    // Clearing removes the ledger and the budget with everything else.
    await page.click("#clear");
    assert.deepEqual(await pocketrankKeys(page), []);
  } finally {
    await b.close();
  }
});

test("a search for a sensitive phrase reaches no request, no header and no stored interest", async () => {
  const b = await browser();
  const phrase = "gluten free for my diabetic son";
  try {
    const page = await b.context.newPage();
    await visit(page, noised.url, "index.html");
    await page.fill("#search-input", phrase);
    await Promise.all([page.waitForURL(/search\.html/), page.press("#search-input", "Enter")]);
    await page.waitForSelector("body[data-ready='1']");
    assert.match(await page.textContent("#search-title"), /diabetic/, "the search ran, in the page");
    // Then a normal page load, whose requests would carry the search page as Referer.
    await page.click(".main-nav a[data-dept='baking']");
    await page.waitForSelector("body[data-ready='1']");
    await settle();
    const words = ["diabetic", "gluten", "son"].map((w) => new RegExp(`\\b${w}\\b`, "i"));
    for (const r of b.requests) {
      const said = [r.url, r.body ?? "", JSON.stringify(r.headers ?? {})].join(" ");
      for (const w of words) assert.doesNotMatch(said, w, `${r.method} ${r.url}`);
      assert.ok(!r.headers?.referer, `${r.url} went out with a Referer: ${r.headers?.referer}`);
    }
    const interests = await page.evaluate(async () => {
      const { Engine } = await import("/pkg/pocketrank.js");
      return Engine.open({ namespace: "shop" }).profile().interests.map((i) => i.tag);
    });
    assert.ok(!interests.some((t) => t.startsWith("search:")), interests.join(","));
  } finally {
    await b.close();
  }
});

test("with exact reports Your data shows the weekly bound in bits and what the pages asked spent of it", async () => {
  const server = await serve();
  const b = await browser();
  try {
    const page = await b.context.newPage();
    await visit(page, server.url, `product.html?id=${running[0].id}`);
    await visit(page, server.url, "index.html");
    await visit(page, server.url, "index.html"); // the same question: the same answer, free
    await visit(page, server.url, "your-data.html");
    const spent = await page.evaluate(async () => {
      const { Engine } = await import("/pkg/pocketrank.js");
      const p = Engine.open({ namespace: "shop" }).privacy();
      return { bound: p.bitsPerWeek, spent: p.bitsSpent, remaining: p.bitsRemaining };
    });
    assert.equal(spent.bound, 24);
    assert.ok(spent.spent > 0 && spent.spent <= 24, JSON.stringify(spent));
    assert.equal(await page.getAttribute("#budget", "data-bits-remaining"), String(spent.remaining));
    assert.match(await page.textContent("#budget"), /24 bits/);
  } finally {
    await b.close();
    await server.close();
  }
});

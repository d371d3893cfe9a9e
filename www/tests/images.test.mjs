// End-to-end: creative images by URL (a CDN's) do not tell the network which offer was chosen.
// The catalog's creatives name images on a second origin (a second dev server on another port,
// sending Access-Control-Allow-Origin as a CDN does) and on the page's own origin. Two browsers
// with opposite profiles load the same pages: the embed (<pocket-offer>) and the shop's own
// offer card (www/shop.js). Every request, with the credentials and referrer it carried, is
// the same for both but for the report's body; no image request carries a cookie or a Referer
// (though the browser holds a cookie for 127.0.0.1 and the embed's test page has the default
// referrer policy, so both would go with a plain <img>); and the chosen offer's image shows.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { ROOT, browser, forgetAnswers, settle, visit } from "./harness.mjs";
import { startServer } from "../server.mjs";

let site;
let cdn;
before(async () => {
  site = await startServer({ port: 0, quiet: true, referrerPolicy: null });
  cdn = await startServer({ port: 0, quiet: true, www: join(ROOT, "www", "tests", "images"), cors: true });
});
after(async () => {
  await site?.close();
  await cdn?.close();
});

// Intrinsic widths of the test images: the one shown tells which offer's image it is.
const WIDTH = { "run.svg": 48, "bake.png": 40, "garden.svg": 32, "kids.svg": 24 };
const DATA_IMAGE = "data:image/svg+xml,%3Csvg%20xmlns%3D'http%3A%2F%2Fwww.w3.org%2F2000%2Fsvg'%20width%3D'20'%20height%3D'20'%3E%3Crect%20width%3D'20'%20height%3D'20'%20fill%3D'%23333'%2F%3E%3C%2Fsvg%3E";

/** Six offers: images on the CDN's origin, one on the page's own origin, one URL shared, one data:. */
function catalog() {
  const on = (file) => `${cdn.url}${file}`;
  return {
    version: 1, id: "images-by-url", fallback: "DELIVERY",
    offers: [
      { id: "RUN", tags: { "category:running": 1 }, creative: { title: "Running week", image: on("run.svg") } },
      { id: "BAKE", tags: { "category:baking": 1 }, creative: { title: "Baking week", image: on("bake.png") } },
      { id: "GARDEN", tags: { "category:gardening": 1 }, creative: { title: "Garden week", image: `${site.url}tests/images/garden.svg` } },
      { id: "KIDS", tags: { "category:kids": 1 }, creative: { title: "Kids week", image: on("kids.svg") } },
      { id: "TRAIL", tags: { "category:trail": 1 }, creative: { title: "Trail week", image: on("run.svg") } },
      { id: "DELIVERY", popularity: 0.2, creative: { title: "Free delivery", image: DATA_IMAGE } },
    ],
  };
}
const imageFiles = (c) => new Set(c.offers.map((o) => o.creative.image).filter((u) => u.startsWith("http")));

// The embed's test page (www/tests/images.html) has no referrer policy of its own, and this
// test's site server sends none: the browser's default would send a Referer. (The pages are real
// files: Chromium refuses requests to 127.0.0.1 from a page the test answers itself.)
const EMBED_PAGE = "tests/images.html";
const BLANK_PAGE = "tests/soak.html";

/** A browser whose shop profile holds `dept`, with a cookie for 127.0.0.1 (every port). */
async function shopper(dept, body) {
  const b = await browser();
  await b.context.addCookies([{ name: "session", value: "s3cret", domain: "127.0.0.1", path: "/" }]);
  await b.context.route("**/images-offers.json", (r) => r.fulfill({ contentType: "application/json", body }));
  await b.context.route("**/offers.json", (r) => r.fulfill({ contentType: "application/json", body }));
  const page = await b.context.newPage();
  await page.goto(site.url + BLANK_PAGE);
  await page.evaluate(async (tag) => {
    const m = await import("/pkg/pocketrank.js");
    await m.default();
    const engine = m.Engine.open({ namespace: "shop" });
    for (let i = 0; i < 6; i++) engine.record({ kind: i % 3 ? "view" : "purchase", tags: [tag], item: `${tag}-${i}` });
    engine.free();
  }, `category:${dept}`);
  return { b, page };
}

/** What a request shows the network: method, URL, body (not the report's), cookie, Referer, Origin. */
const shape = (r) => [
  r.method, r.url, new URL(r.url).pathname === "/offers/report" ? "(report)" : r.body ?? "",
  `cookie:${r.headers?.cookie ?? "-"}`, `referer:${r.headers?.referer ?? "-"}`, `origin:${r.headers?.origin ?? "-"}`,
].join(" ");
const multiset = (requests) => requests.map(shape).sort();
const isImage = (files) => (r) => files.has(r.url);

/** Loads the embed page; resolves to the offer, reason, image shown and the load's requests. */
async function embedLoad(b, page) {
  for (let attempt = 0; ; attempt++) {
    const from = b.requests.length;
    await page.goto(site.url + EMBED_PAGE);
    await page.waitForSelector("pocket-offer[data-reported='1']", { timeout: 20_000 });
    const shown = await page.evaluate(() => {
      const el = document.querySelector("pocket-offer");
      return { offerId: el.dataset.offerId, reason: el.decision?.reason };
    });
    const image = await shownImage(page, "pocket-offer .pocket-offer-image");
    await settle(500);
    if (shown.reason !== "explore" || attempt === 2) return { ...shown, image, requests: b.requests.slice(from) };
    await forgetAnswers(page);
  }
}

/** Loads the shop's home page (its own offer card); the same, for #offer. */
async function shopLoad(b, page) {
  for (let attempt = 0; ; attempt++) {
    const from = b.requests.length;
    await visit(page, site.url, "index.html");
    const offerId = await page.getAttribute("#offer", "data-offer-id");
    const reason = await page.getAttribute("#offer", "data-reason");
    const image = await shownImage(page, "#offer img");
    await settle(500);
    if (reason !== "explore" || attempt === 2) return { offerId, reason, image, requests: b.requests.slice(from) };
    await forgetAnswers(page);
  }
}


/** The image a card shows, once loaded: its natural width, whether it is visible, its scheme. */
async function shownImage(page, selector) {
  await page.waitForFunction((s) => document.querySelector(s)?.complete && document.querySelector(s).naturalWidth > 0, selector, { timeout: 10_000 })
    .catch(() => {});
  return page.evaluate((s) => {
    const img = document.querySelector(s);
    if (!img) return null;
    const box = img.getBoundingClientRect();
    return {
      naturalWidth: img.naturalWidth,
      visible: getComputedStyle(img).visibility === "visible" && box.width > 0,
      scheme: new URL(img.src).protocol,
    };
  }, selector);
}

test("with images by URL, opposite profiles make the same requests but for the report's body, no image request carries a cookie or a Referer, and the chosen image shows", async () => {
  const c = catalog();
  const body = JSON.stringify(c);
  const files = imageFiles(c);
  assert.equal(files.size, 4, "four distinct image URLs (one shared by two offers), one of them same-origin");
  const seen = {};
  for (const dept of ["running", "baking"]) {
    const { b, page } = await shopper(dept, body);
    try {
      seen[dept] = { embed: await embedLoad(b, page), shop: await shopLoad(b, page), blocked: b.blocked.slice() };
    } finally {
      await b.close();
    }
  }
  const expected = { running: "RUN", baking: "BAKE" };
  for (const where of ["embed", "shop"]) {
    const runner = seen.running[where];
    const baker = seen.baking[where];
    for (const [dept, load] of [["running", runner], ["baking", baker]]) {
      assert.equal(load.offerId, expected[dept], `${where}: the ${dept} shopper is shown ${expected[dept]} (${load.reason})`);
      const file = c.offers.find((o) => o.id === load.offerId).creative.image.split("/").pop();
      assert.deepEqual(load.image, { naturalWidth: WIDTH[file], visible: true, scheme: "blob:" }, `${where}: ${file} is shown, from memory`);

      const images = load.requests.filter(isImage(files));
      assert.deepEqual(images.map((r) => r.url).sort(), [...files].sort(), `${where}: every offer's image, each once, whatever the choice`);
      for (const r of images) {
        assert.equal(r.method, "GET");
        assert.equal(r.headers?.cookie, undefined, `${where}: no cookie on ${r.url}`);
        assert.equal(r.headers?.referer, undefined, `${where}: no Referer on ${r.url}`);
      }
      const reports = load.requests.filter((r) => new URL(r.url).pathname === "/offers/report");
      assert.deepEqual(reports.map((r) => r.body), [load.offerId], `${where}: one report, the offer ID`);
    }
    assert.deepEqual(multiset(runner.requests), multiset(baker.requests), `${where}: the same requests (method, URL, cookie, Referer, Origin) but for the report's body`);
  }
  // The checks above could fail: this browser did send the cookie and a Referer where a page's
  // own request allowed them (the embed's script, same-origin, default referrer policy).
  const script = seen.running.embed.requests.find((r) => r.url.endsWith("/pkg/pocket-offer.js"));
  assert.match(script?.headers?.cookie ?? "", /session=s3cret/, "the browser holds a cookie for 127.0.0.1");
  assert.ok(script?.headers?.referer?.endsWith("/tests/images.html"), "the embed's page sends a Referer by default");
  for (const dept of ["running", "baking"]) assert.deepEqual(seen[dept].blocked, [], "nothing but 127.0.0.1");
});

test("a catalog naming more image URLs than the limit loads none of them, and a data: image still shows", async () => {
  const b = await browser();
  try {
    const page = await b.context.newPage();
    await page.goto(site.url + BLANK_PAGE);
    const { limit, summaries } = await page.evaluate(async (cdnUrl) => {
      const { MAX_CREATIVE_IMAGES, preloadCreatives } = await import("/pkg/pocket-offer.js");
      const offers = (n) => Array.from({ length: n }, (_, i) => ({ creative: { image: `${cdnUrl}run.svg?n=${i}` } }));
      const summaries = [];
      for (const n of [MAX_CREATIVE_IMAGES, MAX_CREATIVE_IMAGES + 1]) {
        const { done } = preloadCreatives({ offers: offers(n) });
        const { urls, loaded, failed, overLimit } = await done;
        summaries.push({ urls: urls.length, loaded, failed, overLimit });
      }
      return { limit: MAX_CREATIVE_IMAGES, summaries };
    }, cdn.url);
    assert.equal(limit, 64, "the documented limit");
    assert.deepEqual(summaries, [
      { urls: 64, loaded: 64, failed: 0, overLimit: false },
      { urls: 0, loaded: 0, failed: 0, overLimit: true },
    ]);
    const fetched = b.requests.filter((r) => r.url.startsWith(cdn.url));
    assert.equal(fetched.length, 64, "at the limit all 64 are fetched; one more and none is");

    // The embed with 65 URL images and a popular offer whose image is inline.
    const offers = Array.from({ length: 65 }, (_, i) => ({ id: `O${i}`, tags: { [`t:${i}`]: 1 }, creative: { title: `Offer ${i}`, image: `${cdn.url}kids.svg?n=${i}` } }));
    offers.push({ id: "INLINE", popularity: 1, creative: { title: "Inline", image: DATA_IMAGE } });
    const body = JSON.stringify({ version: 1, offers, fallback: "INLINE" });
    await b.context.route("**/images-offers.json", (r) => r.fulfill({ contentType: "application/json", body }));
    const from = b.requests.length;
    await page.goto(site.url + EMBED_PAGE);
    await page.waitForSelector("pocket-offer[data-reported='1']", { timeout: 20_000 });
    await settle(500);
    assert.deepEqual(b.requests.slice(from).filter((r) => r.url.startsWith(cdn.url)), [], "no image URL fetched");
    assert.equal(await page.getAttribute("pocket-offer", "data-offer-id"), "INLINE");
    assert.deepEqual(await shownImage(page, "pocket-offer .pocket-offer-image"), { naturalWidth: 20, visible: true, scheme: "data:" });
  } finally {
    await b.close();
  }
});

// End-to-end: the one-tag embed stays off the page's critical path. A slot far below the fold
// loads the engine when the page is idle, but chooses, renders and reports only once the
// shopper scrolls near it: an offer nobody saw is neither counted nor reported.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { browser, serve, settle } from "./harness.mjs";

let server;
before(async () => { server = await serve(); });
after(async () => { await server.close(); });

const PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Long page</title>
<script type="module" src="/pkg/pocket-offer.js"></script></head>
<body><main><h1>A long article</h1><div style="height: 4000px"></div>
<pocket-offer catalog="/offers.json" report="/offers/report" placement="home" namespace="lazy"></pocket-offer>
</main></body></html>`;

test("an embed below the fold loads on idle and shows and reports its offer only when scrolled near", async () => {
  const b = await browser();
  try {
    await b.context.route("**/long-page.html", (r) => r.fulfill({ contentType: "text/html", body: PAGE }));
    const page = await b.context.newPage();
    await page.goto(server.url + "long-page.html");
    // The engine is fetched while the page is idle, without waiting for the slot.
    await page.waitForFunction(() => performance.getEntriesByType("resource").some((e) => e.name.endsWith("/pocketrank_bg.wasm")), null, { timeout: 20_000 });
    await settle(1000);
    assert.equal(await page.getAttribute("pocket-offer", "data-state"), "waiting", "not chosen while out of sight");
    assert.deepEqual(b.requests.filter((r) => r.url.endsWith("/offers/report")), [], "nothing reported");
    assert.equal(await page.evaluate(() => localStorage.getItem("pocketrank:lazy:profile")), null, "no impression counted");

    await page.evaluate(() => document.querySelector("pocket-offer").scrollIntoView());
    await page.waitForSelector("pocket-offer[data-reported='1']", { timeout: 20_000 });
    const id = await page.getAttribute("pocket-offer", "data-offer-id");
    assert.deepEqual(b.requests.filter((r) => r.url.endsWith("/offers/report")).map((r) => r.body), [id]);
    assert.equal(await page.getAttribute("pocket-offer", "aria-busy"), null);

    // Its one control, "Why this offer?", from the keyboard.
    for (let i = 0; i < 10 && !(await page.evaluate(() => document.activeElement?.matches("pocket-offer summary"))); i++) await page.keyboard.press("Tab");
    assert.ok(await page.evaluate(() => document.activeElement?.matches("pocket-offer summary")), "the summary takes focus");
    await page.keyboard.press("Enter");
    assert.equal(await page.getAttribute("pocket-offer details", "open"), "");
    assert.equal(await page.isVisible("pocket-offer .pocket-offer-why-text"), true, "the explanation shows");
  } finally {
    await b.close();
  }
});

// End-to-end: the shopper's side as a shopper with a keyboard or a screen reader meets it.
// axe-core (WCAG 2.0–2.2 A and AA rules, plus best practices) audits every page in every state
// and any violation fails; keyboard-only flows check where focus goes; the focus ring must be
// visible (≥ 3:1) and never under the sticky header; "Delete everything" can be undone for a
// short while and nothing of it is kept once the shopper moves on.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { join } from "node:path";
import { ROOT, browser, pocketrankKeys, serve, settle, visit } from "./harness.mjs";
import { startServer } from "../server.mjs";

const AXE = await readFile(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
const AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa", "best-practice"];
const products = JSON.parse(await readFile(join(ROOT, "www", "products.json"), "utf8"));
const catalog = JSON.parse(await readFile(join(ROOT, "www", "offers.json"), "utf8"));
const inDept = (dept) => products.filter((p) => p.department === dept);
const ITEM_ID = /\b(?:run|bake|gard|kids|elec|cof)-\d\d\b/;

let server;
let noised;
let privateChoice;
before(async () => {
  server = await serve();
  // The privacy modes a site can turn on (scripts/dev --privacy '{"epsilon":1}', and private choice).
  noised = await startServer({ port: 0, quiet: true, site: { privacy: { epsilon: 1 } } });
  privateChoice = await startServer({ port: 0, quiet: true, site: { privacy: { epsilon: 1, privateChoice: true } } });
});
after(async () => {
  await server.close();
  await noised.close();
  await privateChoice.close();
});

/** Every state audited, for the summary printed at the end. */
const audited = [];

/**
 * axe's "needs review" (incomplete) results accepted, by rule id, each with the reason a person
 * checked it and found it fine. Empty: any result that needs review fails the test like a
 * violation, so that nothing goes unchecked because axe could not decide.
 */
const INCOMPLETE_ALLOWED = {};

/** A phone's viewport (CSS pixels), for the audits at phone width. */
const PHONE = { width: 375, height: 740 };

/** Runs axe on the page as it is now; fails on any violation, listing rule, impact and nodes. */
async function audit(page, state) {
  if (!(await page.evaluate(() => typeof window.axe === "object"))) await page.addScriptTag({ content: AXE });
  const result = await page.evaluate(async (tags) => {
    // From the top: text scrolled under the sticky header cannot have its contrast computed.
    window.scrollTo(0, 0);
    const r = await window.axe.run(document, { runOnly: { type: "tag", values: tags }, resultTypes: ["violations", "incomplete"] });
    const brief = (list) => list.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(" ")).slice(0, 5) }));
    return { violations: brief(r.violations), incomplete: brief(r.incomplete) };
  }, AXE_TAGS);
  audited.push({ state, violations: result.violations.length, incomplete: result.incomplete.map((i) => `${i.id}×${i.nodes.length}`) });
  assert.deepEqual(result.violations, [], `axe violations in "${state}":\n${JSON.stringify(result.violations, null, 2)}`);
  const unreviewed = result.incomplete.filter((i) => !Object.hasOwn(INCOMPLETE_ALLOWED, i.id));
  assert.deepEqual(unreviewed, [], `axe results that need review in "${state}" (check them, then fix or list them in INCOMPLETE_ALLOWED with the reason):\n${JSON.stringify(unreviewed, null, 2)}`);
}

/** Opens the embed page and waits for its offer (or its empty state) to be settled. */
async function openEmbed(page, base) {
  await page.goto(new URL("embed.html", base).href);
  await page.waitForSelector("pocket-offer[data-state='shown'], pocket-offer[data-state='empty']", { timeout: 20_000 });
}

/** A page whose localStorage throws (storage blocked by the browser): the engine runs in memory. */
async function withoutStorage(context) {
  const page = await context.newPage();
  await page.addInitScript(() => {
    Object.defineProperty(window, "localStorage", { configurable: true, get() { throw new DOMException("The operation is insecure.", "SecurityError"); } });
  });
  return page;
}

/** Presses Not interested until no offer is left, so that the "You will not see … again" line shows. */
async function dismissAll(page) {
  for (let i = 0; i < 40 && !(await page.$("#offer-gone")); i++) await page.click("#dismiss");
  await page.waitForSelector("#offer-gone");
}

/** Browses as a shopper of `dept`: category page, three products, two of them in the cart. */
async function browseAs(page, base, dept) {
  await visit(page, base, `category.html?c=${dept}`);
  const picks = inDept(dept).slice(0, 3);
  for (const p of picks) await visit(page, base, `product.html?id=${p.id}`);
  for (const p of picks.slice(0, 2)) {
    await visit(page, base, `product.html?id=${p.id}`);
    await page.click("#add-to-cart");
  }
}

/** What has focus: its id, its accessible-name-ish text, and a few attributes. */
const focused = (page) => page.evaluate(() => {
  const a = document.activeElement;
  return a && a !== document.body
    ? { id: a.id, tag: a.tagName.toLowerCase(), label: a.getAttribute("aria-label") ?? a.textContent.trim(), className: a.className, row: a.closest("li")?.dataset.tag ?? a.closest("li")?.dataset.item ?? a.closest("li")?.dataset.namespace ?? null }
    : null;
});

/**
 * Where focus is and how it looks: null on <body>; else { what, outline (≥ 2px, not none),
 * contrast (of the ring against the first opaque background outside the element), hidden
 * (entirely under the sticky header), inHeader }.
 */
const focusProbe = (page) => page.evaluate(() => {
  const a = document.activeElement;
  if (!a || a === document.body) return null;
  const parse = (c) => (c.match(/[\d.]+/g) ?? []).map(Number);
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  let bg = [255, 255, 255];
  for (let n = a.parentElement; n; n = n.parentElement) {
    const c = parse(getComputedStyle(n).backgroundColor);
    if (c.length === 3 || (c.length === 4 && c[3] > 0.9)) { bg = c.slice(0, 3); break; }
  }
  const s = getComputedStyle(a);
  const ring = parse(s.outlineColor).slice(0, 3);
  const [l1, l2] = [lum(ring), lum(bg)].sort((x, y) => y - x);
  const headerEl = document.getElementById("site-header");
  const header = headerEl.getBoundingClientRect();
  const box = a.getBoundingClientRect();
  const sticky = getComputedStyle(headerEl).position === "sticky";
  return {
    what: a.id || a.getAttribute("aria-label") || a.textContent.trim().slice(0, 40),
    outline: s.outlineStyle !== "none" && parseFloat(s.outlineWidth) >= 2,
    contrast: (l1 + 0.05) / (l2 + 0.05),
    hidden: sticky && box.bottom <= header.bottom + 1 && !a.closest("#site-header"),
    inHeader: !!a.closest("#site-header"),
  };
});

/** Asserts that focus is on an element whose ring is visible (≥ 3:1) and not under the header. */
async function assertFocusVisible(page, where) {
  const r = await focusProbe(page);
  assert.ok(r, `${where}: focus is on an element, not the page`);
  assert.ok(r.outline, `${where}: ${r.what} has a focus outline`);
  assert.ok(r.contrast >= 3, `${where}: ${r.what}'s focus ring has ${r.contrast.toFixed(2)}:1 against its background`);
  assert.equal(r.hidden, false, `${where}: ${r.what} is hidden under the sticky header`);
  return r;
}

/** Presses Tab (or Shift+Tab) until `predicate(focused)` holds; fails after `max` presses. */
async function tabTo(page, predicate, { back = false, max = 80 } = {}) {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press(back ? "Shift+Tab" : "Tab");
    const f = await focused(page);
    if (f && predicate(f)) return f;
  }
  assert.fail(`no focusable element matched after ${max} ${back ? "Shift+Tab" : "Tab"} presses`);
}

test("axe finds no violation on any page of the shop, empty, with a profile, paused, and in the privacy modes", async () => {
  const b = await browser();
  try {
    const page = await b.context.newPage();
    // A new shopper: every page as it first looks.
    await visit(page, server.url, "your-data.html");
    await audit(page, "your data, empty profile");
    await visit(page, server.url, "index.html");
    await audit(page, "home, empty profile");
    await page.goto(server.url + "embed.html");
    await page.waitForSelector("pocket-offer[data-state='shown']", { timeout: 20_000 });
    await audit(page, "embed, empty profile");
    await visit(page, server.url, "search.html#q=shoe");
    await audit(page, "search results");
    await visit(page, server.url, "search.html#q=zzxqv");
    assert.match(await page.textContent("#search-summary"), /^0 products/);
    await audit(page, "search, no results");
    await visit(page, server.url, "product.html?id=nope");
    await audit(page, "product not found");
    await visit(page, server.url, "cart.html");
    await audit(page, "cart, empty");

    // A running shopper.
    await browseAs(page, server.url, "running");
    await audit(page, "product page, after add to cart");
    await visit(page, server.url, "category.html?c=running");
    await audit(page, "category page, with profile");
    await visit(page, server.url, "cart.html");
    await audit(page, "cart, two products");
    await page.click("#checkout");
    await page.waitForSelector("#thanks:not([hidden])");
    await audit(page, "cart, after checkout");
    await visit(page, server.url, "index.html");
    await page.click("#why");
    await page.click("#offer-use");
    await audit(page, "home, personal offer, why open, offer used");
    await page.click("#dismiss");
    await audit(page, "home, after not interested");
    // With exact reports the standard offer's dismissal does not count (nothing of the shopper's
    // decides it): it comes back, so the page hides it and says only that.
    await dismissAll(page);
    assert.match(await page.textContent("#offer-gone"), /^“.+” is hidden on this page; the shop may still show it on other pages\.$/);
    await audit(page, "home, every offer dismissed, exact reports: the “hidden on this page” line");
    await page.goto(server.url + "embed.html");
    await page.waitForSelector("pocket-offer[data-state='shown']", { timeout: 20_000 });
    await page.click("pocket-offer summary");
    await audit(page, "embed, with profile, why open");

    await visit(page, server.url, "your-data.html");
    await audit(page, "your data, full profile");
    await page.click("#chart-details summary");
    await audit(page, "your data, chart table open");
    await page.click("#interests li .forget");
    await page.click("#items li .forget-item");
    await audit(page, "your data, after deleting an interest and a product");
    await page.fill("#sensitive-input", "not valid!");
    await page.press("#sensitive-input", "Enter");
    await page.waitForSelector("#sensitive-input[aria-invalid='true']");
    await audit(page, "your data, never-record error");
    await page.fill("#sensitive-input", "brand");
    await page.press("#sensitive-input", "Enter");
    await page.waitForSelector("#sensitive li[data-namespace='brand']");
    await audit(page, "your data, a never-record group added");
    await page.click("#sensitive li[data-namespace='brand'] button.remove");
    await page.waitForSelector("#sensitive li[data-namespace='brand']", { state: "detached" });
    await audit(page, "your data, a never-record group removed");
    await page.click("#pause");
    await audit(page, "your data, paused");
    await visit(page, server.url, "index.html");
    await audit(page, "home, paused");
    await visit(page, server.url, "category.html?c=running");
    await audit(page, "category page, paused");
    await visit(page, server.url, `product.html?id=${inDept("running")[4].id}`);
    await audit(page, "product page, paused");
    await openEmbed(page, server.url);
    await audit(page, "embed, paused");
    await visit(page, server.url, "your-data.html");
    await page.click("#pause");
    await page.click("#clear");
    await page.waitForSelector("#undo:not([hidden])");
    await audit(page, "your data, after delete everything (undo offered)");
    await page.click("#undo");
    await page.waitForSelector("#interests li");
    await audit(page, "your data, after undo restored everything");
    await page.click("#clear");
    await page.waitForSelector("#undo:not([hidden])");
    // The undo window, waited out in real time.
    await page.waitForSelector("#undo", { state: "hidden", timeout: 15_000 });
    assert.match(await page.textContent("#message"), /no longer be undone/);
    await audit(page, "your data, after the undo window ended");

    // Storage blocked by the browser: the engine keeps the profile in memory, and says so.
    const memory = await withoutStorage(b.context);
    await visit(memory, server.url, "your-data.html");
    assert.match(await memory.textContent("#status-storage"), /Memory only/);
    await audit(memory, "your data, storage unavailable (in memory)");
    await memory.close();

    // The privacy modes, each with a profile.
    for (const [name, site] of [["noised reports", noised], ["private choice", privateChoice]]) {
      const p = await b.context.newPage();
      await browseAs(p, site.url, "baking");
      await visit(p, site.url, "index.html");
      await p.click("#why");
      await audit(p, `home, ${name}`);
      await visit(p, site.url, "your-data.html");
      await audit(p, `your data, ${name}`);
      await openEmbed(p, site.url);
      await audit(p, `embed, ${name}`);
      await visit(p, site.url, "index.html");
      await dismissAll(p);
      if (name === "noised reports") assert.match(await p.textContent("#offer-gone"), /^You will not see “.+” again for 48 hours\.$/);
      await audit(p, `home, ${name}, every offer dismissed: the “You will not see … again” line`);
      await visit(p, site.url, "your-data.html");
      await p.click("#pause");
      await openEmbed(p, site.url);
      await audit(p, `embed, ${name}, paused`);
      await p.close();
    }
  } finally {
    await b.close();
  }
  const incomplete = [...new Set(audited.flatMap((a) => a.incomplete))];
  console.log(`# axe ${AXE_TAGS.join(",")}: ${audited.length} states, ${audited.reduce((s, a) => s + a.violations, 0)} violations; needs review: ${incomplete.join(", ") || "none"}`);
});

test("axe finds no violation at phone width (375×740) on any page", async () => {
  const b = await browser();
  try {
    const page = await b.context.newPage();
    await page.setViewportSize(PHONE);
    await browseAs(page, server.url, "kids");
    const pages = ["index.html", "category.html?c=kids", `product.html?id=${inDept("kids")[0].id}`, "cart.html", "search.html#q=toy", "search.html#q=zzxqv", "your-data.html"];
    for (const path of pages) {
      await visit(page, server.url, path);
      await audit(page, `phone width: ${path}`);
      assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= innerWidth), `${path}: no sideways scrolling at phone width`);
    }
    await page.click("#chart-details summary");
    await audit(page, "phone width: your data, chart table open");
    await openEmbed(page, server.url);
    await page.click("pocket-offer summary");
    await audit(page, "phone width: embed, why open");
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= innerWidth), "embed: no sideways scrolling at phone width");
    await visit(page, server.url, "index.html");
    await page.click("#why");
    await audit(page, "phone width: home, why open");
  } finally {
    await b.close();
  }
});

test("keyboard only on Your data: each deletion puts focus on the next row, then on the list's heading", async () => {
  const b = await browser();
  try {
    const page = await b.context.newPage();
    await browseAs(page, server.url, "coffee");
    await visit(page, server.url, "your-data.html");
    const tags = await page.$$eval("#interests li[data-tag]", (lis) => lis.map((li) => li.dataset.tag));
    assert.ok(tags.length >= 3, tags.join(","));

    // Pause, resume and download, from the keyboard; the chart's table opens with Enter and
    // lists the figures the bars show.
    // The toggle is one pattern: its name says what it does; it is not also a "pressed" button.
    await tabTo(page, (x) => x.id === "pause");
    assert.equal(await page.locator("#pause").ariaSnapshot(), '- button "Pause personalization"');
    await page.keyboard.press("Enter");
    assert.equal(await page.locator("#pause").ariaSnapshot(), '- button "Resume personalization"');
    assert.match(await page.textContent("#message"), /paused/);
    assert.equal(await page.textContent("#status-paused"), "Paused");
    await page.keyboard.press("Enter");
    assert.equal(await page.locator("#pause").ariaSnapshot(), '- button "Pause personalization"');
    assert.equal(await page.textContent("#status-paused"), "On");
    await tabTo(page, (x) => x.id === "export");
    const [download] = await Promise.all([page.waitForEvent("download"), page.keyboard.press("Enter")]);
    assert.equal(download.suggestedFilename(), "pocketrank-profile.json");
    await tabTo(page, (x) => x.tag === "summary");
    await page.keyboard.press("Enter");
    assert.equal(await page.isVisible("#chart-table"), true);
    // Each bar's full label (its title; the visible one may be shortened with "…") and figure.
    const bars = await page.$$eval("#chart .chart-row", (rows) => rows.map((r) => ({ shown: r.querySelector(".bar-label").textContent, label: r.querySelector(".bar-label").title, value: r.querySelector(".bar-value").textContent })));
    const table = await page.$$eval("#chart-table tbody tr", (rows) => rows.map((r) => [r.querySelector("th").textContent, r.querySelector("td").textContent]));
    assert.equal(bars.length, Math.min(12, tags.length));
    assert.deepEqual(table, bars.map((x) => [x.label, x.value]), "the table lists the labels and figures the chart shows");
    for (const x of bars) assert.ok(x.shown === x.label || (x.shown.endsWith("…") && x.label.startsWith(x.shown.slice(0, -1))), `${x.shown} is ${x.label}, shortened`);

    // The second interest's Delete, reached and pressed with the keyboard only.
    let f = await tabTo(page, (x) => x.row === tags[1] && x.className.includes("forget"));
    await page.keyboard.press("Enter");
    await page.waitForSelector(`#interests li[data-tag='${tags[1]}']`, { state: "detached" });
    f = await focused(page);
    assert.equal(f?.row, tags[2], "focus moved to the Delete button of the row that took its place");
    await assertFocusVisible(page, "after deleting an interest");
    assert.match(await page.textContent("#message"), /Deleted/);
    assert.ok(!(await page.evaluate(() => localStorage.getItem("pocketrank:shop:profile"))).includes(`"${tags[1]}"`), "gone from storage at once");

    // Deleting the rest from the keyboard: focus never falls to the page; the last goes to the heading.
    for (let left = tags.length - 1; left > 0; left--) {
      await page.keyboard.press("Enter");
      await page.waitForFunction((n) => document.querySelectorAll("#interests li").length === n, left - 1);
      f = await focused(page);
      if (left > 1) assert.ok(f?.className.includes("forget"), `focus on a Delete button, not ${JSON.stringify(f)}`);
      await assertFocusVisible(page, `after deleting an interest, ${left - 1} left`);
    }
    assert.equal(f?.id, "interests-title", "with no interest left, focus is on the list's heading");

    // Products: the same.
    const items = await page.$$eval("#items li[data-item]", (lis) => lis.map((li) => li.dataset.item));
    assert.ok(items.length >= 2, items.join(","));
    f = await tabTo(page, (x) => x.row === items.at(-1));
    await page.keyboard.press("Enter");
    await page.waitForSelector(`#items li[data-item='${items.at(-1)}']`, { state: "detached" });
    f = await focused(page);
    assert.equal(f?.row, items.at(-2), "after the last row, focus goes to the row before it");
    await assertFocusVisible(page, "after deleting a product");

    // Never record: a wrong value is refused at the field and says why; a good one is added;
    // removing it with the keyboard puts focus back in the field.
    f = await tabTo(page, (x) => x.id === "sensitive-input");
    await page.keyboard.type("Brand Names");
    await page.keyboard.press("Enter");
    await page.waitForSelector("#sensitive-input[aria-invalid='true']");
    const described = await page.getAttribute("#sensitive-input", "aria-describedby");
    assert.ok(described.split(" ").includes("sensitive-error"), "the error is tied to the field");
    assert.match(await page.textContent("#sensitive-error"), /letters, digits/);
    // Announced: the error line is an alert (an assertive live region) with the text, and it
    // is the field's accessible description.
    assert.equal(await page.locator("#sensitive-error").ariaSnapshot(), "- alert: Use 1 to 64 letters, digits, dots, dashes or underscores, without spaces.");
    const cdp = await page.context().newCDPSession(page);
    const { nodes } = await cdp.send("Accessibility.getFullAXTree");
    const field = nodes.find((n) => n.role?.value === "textbox" && /^Add a group of topics/.test(n.name?.value ?? ""));
    assert.match(field?.description?.value ?? "", /^Use 1 to 64 letters, digits, dots, dashes or underscores, without spaces\./, "the field's description starts with the error");
    assert.ok(field.properties.some((p) => p.name === "invalid" && p.value.value === "true"), "the field is invalid");
    await cdp.detach();
    await assertFocusVisible(page, "the never-record field in error");
    assert.equal((await focused(page))?.id, "sensitive-input", "focus stays in the field");
    assert.equal(await page.$("#sensitive li[data-who='shopper']"), null, "nothing added");
    await page.keyboard.press("Control+A");
    await page.keyboard.type("  Brand ");
    assert.equal(await page.getAttribute("#sensitive-input", "aria-invalid"), null, "the error clears once the value is valid");
    await page.keyboard.press("Enter");
    await page.waitForSelector("#sensitive li[data-who='shopper'][data-namespace='brand']");
    f = await tabTo(page, (x) => x.row === "brand");
    await page.keyboard.press("Enter");
    await page.waitForSelector("#sensitive li[data-namespace='brand']", { state: "detached" });
    assert.equal((await focused(page))?.id, "sensitive-input", "focus back in the field");
    await assertFocusVisible(page, "after removing a never-record group");
  } finally {
    await b.close();
  }
});

test("the never-record rule is one rule: the field accepts exactly what the engine accepts, over many strings with Unicode white space", async () => {
  const b = await browser();
  try {
    const page = await b.context.newPage();
    const console = [];
    page.on("console", (m) => { if (m.type() === "error" || m.type() === "warning") console.push(m.text()); });
    await visit(page, server.url, "your-data.html");
    // Hand-picked cases (the two where JS's \s and Rust's white space differ among them), then
    // strings drawn from an alphabet of allowed characters, letters that lowercase differently
    // in JS and ASCII, and Unicode white space, with lengths around the 64-character limit.
    const fixed = ["brand", "Brand", "  brand  ", "a", "x".repeat(64), "x".repeat(65), ` ${"x".repeat(64)}\t`, "my.topics_1-2", "", " ", "two words", "brand:", "health/care", "é", "naïve", "tab\tx",
      "UPPER.CASE-9", "brand\u0085", "\u0085brand", "\uFEFFbrand", "brand\uFEFF", "\u00A0brand", "brand\u2028", "\u3000brand", "\u200Bbrand", "\u180Ebrand", "\u1680brand", "\u2007brand\u205F", "\u212Aelvin", "\u0130stanbul"];
    const verdicts = await page.evaluate(async (fixed) => {
      const m = await import("/pkg/pocketrank.js");
      const input = document.getElementById("sensitive-input");
      const alphabet = [..."abcxyzABCXYZ0189._-", " ", "\t", "\n", "\r", "\u000B", "\u000C", "\u0085", "\u00A0", "\u1680", "\u180E", "\u2000", "\u200A", "\u200B", "\u2028", "\u2029", "\u202F", "\u205F", "\u3000", "\uFEFF", "é", "\u212A", "\u0130", "/", ":", "+"];
      // mulberry32, seeded: the same strings on every run.
      let seed = 16;
      const rand = (n) => {
        seed = (seed + 0x6d2b79f5) | 0;
        let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
        t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
        return (((t ^ (t >>> 14)) >>> 0) / 4294967296 * n) | 0;
      };
      const drawn = [];
      for (let i = 0; i < 3000; i++) {
        const len = [rand(8), 60 + rand(8), rand(70)][rand(3)];
        let t = "";
        // Mostly allowed characters, so that many strings pass and the edges are reached.
        for (let j = 0; j < len; j++) t += rand(4) ? alphabet[rand(19)] : alphabet[rand(alphabet.length)];
        if (rand(3) === 0) t = alphabet[19 + rand(20)] + t + alphabet[19 + rand(20)];
        drawn.push(t);
      }
      return [...fixed, ...drawn].map((s) => {
        input.value = s;
        input.dispatchEvent(new Event("input", { bubbles: true }));
        const browser = input.checkValidity();
        let engine;
        try {
          // What the field holds (a text input drops line breaks from its value).
          m.Engine.inMemory({}).addSensitive(input.value);
          engine = true;
        } catch {
          engine = false;
        }
        return { s, browser, engine };
      });
    }, fixed);
    const disagree = verdicts.filter((v) => v.browser !== v.engine);
    assert.deepEqual(disagree.map((v) => JSON.stringify(v.s)), [], "the field and the engine disagree on these");
    const accepted = verdicts.filter((v) => v.engine).length;
    assert.ok(accepted > 300 && verdicts.length - accepted > 300, `both verdicts occur often: ${accepted} of ${verdicts.length} accepted`);
    for (const s of ["brand\u0085", "\uFEFFbrand"]) assert.ok(verdicts.some((v) => v.s === s), s);
    // And a string refused by the engine is refused at the field: nothing reaches the list.
    await page.fill("#sensitive-input", "\uFEFFbrand");
    await page.press("#sensitive-input", "Enter");
    await page.waitForSelector("#sensitive-input[aria-invalid='true']");
    assert.equal(await page.$("#sensitive li[data-who='shopper']"), null);
    await page.fill("#sensitive-input", "brand\u0085");
    assert.equal(await page.getAttribute("#sensitive-input", "aria-invalid"), null, "a value the engine accepts clears the error");
    await page.press("#sensitive-input", "Enter");
    await page.waitForSelector("#sensitive li[data-who='shopper'][data-namespace='brand']");
    assert.deepEqual(console.filter((t) => /pattern|sensitive/i.test(t)), [], "no console error about the field");
  } finally {
    await b.close();
  }
});

test("Delete everything deletes at once, can be undone from the keyboard for a short while, and keeps nothing after", async () => {
  const b = await browser();
  try {
    const page = await b.context.newPage();
    await page.clock.install();
    await browseAs(page, server.url, "gardening");
    await visit(page, server.url, "your-data.html");
    await page.fill("#sensitive-input", "brand");
    await page.press("#sensitive-input", "Enter");
    await page.waitForSelector("#sensitive li[data-namespace='brand']");
    const before = await page.$$eval("#interests li[data-tag]", (lis) => lis.map((li) => li.dataset.tag));
    assert.ok(before.includes("category:gardening"));

    await tabTo(page, (x) => x.id === "clear", { back: true });
    await page.keyboard.press("Enter");
    await page.waitForSelector("#empty");
    assert.deepEqual(await pocketrankKeys(page), [], "deleted from storage at once, before any undo");
    const stash = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }));
    assert.ok(!stash.includes("gardening"), "no copy in any storage");
    assert.equal((await focused(page))?.id, "undo", "focus on Undo");
    assert.match(await page.textContent("#message"), /undo this for 10 seconds/);

    // Undo, with the keyboard.
    await page.keyboard.press("Enter");
    await page.waitForSelector("#interests li[data-tag='category:gardening']");
    assert.deepEqual(await page.$$eval("#interests li[data-tag]", (lis) => lis.map((li) => li.dataset.tag)), before, "every interest is back");
    assert.ok((await page.evaluate(() => localStorage.getItem("pocketrank:shop:profile"))).includes("category:gardening"), "and stored again");
    assert.ok(await page.$("#sensitive li[data-who='shopper'][data-namespace='brand']"), "the never-record group is back too");
    assert.equal(await page.isVisible("#undo"), false);
    assert.equal((await focused(page))?.id, "clear", "focus back on Delete everything");

    // Again; this time the shopper stays on Undo and does nothing: the window still ends after
    // 10 seconds (it runs whatever has focus), with a countdown on screen.
    await page.keyboard.press("Enter");
    await page.waitForSelector("#undo:not([hidden])");
    assert.equal((await focused(page))?.id, "undo");
    assert.equal(await page.textContent("#undo-left"), "10 seconds left to undo");
    assert.equal(await page.isVisible("#undo-left"), true, "the countdown is on screen");
    await page.clock.runFor(4_000);
    assert.equal(await page.textContent("#undo-left"), "6 seconds left to undo");
    assert.equal(await page.isVisible("#undo"), true);
    await page.clock.runFor(6_000);
    assert.equal(await page.isVisible("#undo"), false, "Undo is gone after 10 seconds, though it had focus");
    assert.equal(await page.isVisible("#undo-left"), false, "and so is the countdown");
    assert.equal(await page.getAttribute("#message", "role"), "status");
    assert.equal(await page.textContent("#message"), "Everything this shop remembered about you is deleted. It can no longer be undone.", "announced in the live region");
    assert.equal((await focused(page))?.id, "clear", "focus moved from the vanished Undo to Delete everything, not to the page");
    await assertFocusVisible(page, "after the undo window ended");
    await page.evaluate(() => document.getElementById("undo").click());
    assert.equal(await page.$("#interests li"), null, "the copy is dropped: nothing to restore");
    assert.deepEqual(await pocketrankKeys(page), []);

    // Leaving the page drops the copy at once: back on the page, there is nothing to undo.
    await visit(page, server.url, `product.html?id=${inDept("kids")[0].id}`);
    await visit(page, server.url, "your-data.html");
    await page.click("#clear");
    await page.waitForSelector("#undo:not([hidden])");
    // The page going away (into the back-forward cache, or for good) drops the copy at once.
    await page.evaluate(() => dispatchEvent(new PageTransitionEvent("pagehide", { persisted: true })));
    assert.equal(await page.isVisible("#undo"), false, "no Undo once the page was left");
    assert.doesNotMatch(await page.textContent("#message"), /undo/i, "and no message offering one");
    await page.evaluate(() => document.getElementById("undo").click());
    assert.equal(await page.$("#interests li[data-tag='category:kids']"), null, "and nothing to restore");
  } finally {
    await b.close();
  }
});

test("after back and forward (the back-forward cache), Your data neither offers nor promises an undo", async () => {
  const b = await browser({ backForwardCache: true });
  try {
    const page = await b.context.newPage();
    await browseAs(page, server.url, "kids");
    await visit(page, server.url, "your-data.html");
    await page.click("#clear");
    await page.waitForSelector("#undo:not([hidden])");
    assert.match(await page.textContent("#message"), /undo this for 10 seconds/);
    // A mark in the page's memory: still there after Back only if the page came from the cache.
    await page.evaluate(() => { window.__samePage = true; });
    await visit(page, server.url, "index.html");
    await page.goBack({ waitUntil: "commit" });
    await page.waitForSelector("body[data-ready='1']");
    assert.equal(await page.evaluate(() => window.__samePage === true), true, "the page came back from the back-forward cache");
    assert.equal(await page.isVisible("#undo"), false, "no Undo after leaving the page");
    assert.equal(await page.textContent("#message"), "Everything this shop remembered about you is deleted.", "the message no longer promises an undo");
    await page.evaluate(() => document.getElementById("undo").click());
    assert.equal(await page.$("#interests li"), null, "nothing to restore");
    await page.goForward({ waitUntil: "commit" });
    await page.waitForSelector("body[data-ready='1']");
    await page.goBack({ waitUntil: "commit" });
    await page.waitForSelector("body[data-ready='1']");
    assert.equal(await page.isVisible("#undo"), false);
    assert.doesNotMatch(await page.textContent("#message"), /undo/i);
    // (The home page visited in between wrote the offer it showed; the deleted interests stay gone.)
    const stored = await page.evaluate(() => Object.keys(localStorage).map((k) => localStorage.getItem(k)).join("\n"));
    assert.ok(!stored.includes("category:kids"), "what was deleted stays deleted");
  } finally {
    await b.close();
  }
});

test("the offer card works from the keyboard: its name is its text, Why opens, Not interested moves focus to what replaced it", async () => {
  const b = await browser();
  try {
    const page = await b.context.newPage();
    await browseAs(page, server.url, "running");
    await visit(page, server.url, "index.html");
    const first = await page.getAttribute("#offer", "data-offer-id");
    const title = catalog.offers.find((o) => o.id === first).creative.title;

    const f = await tabTo(page, (x) => x.id === "offer-use");
    assert.ok(f.label.includes(title), `the card's name includes its visible title: ${f.label}`);
    await page.keyboard.press("Enter");
    assert.match(await page.textContent("#offer-note"), /Offer saved/);
    assert.equal(await page.getAttribute("#offer-note", "role"), "status");

    await tabTo(page, (x) => x.id === "why");
    await page.keyboard.press("Enter");
    assert.equal(await page.getAttribute("#why", "aria-expanded"), "true");
    const why = await page.textContent("#why-text");
    assert.equal(await page.isVisible("#why-text"), true);
    assert.doesNotMatch(why, ITEM_ID, `no raw item ID in "${why}"`);

    await tabTo(page, (x) => x.id === "dismiss");
    await page.keyboard.press("Enter");
    const after = await focused(page);
    const next = await page.getAttribute("#offer", "data-offer-id");
    assert.notEqual(next, first, "the dismissed offer is gone");
    assert.ok(after?.id === "offer-use" || after?.id === "offer-gone", `focus on what replaced the offer, not ${JSON.stringify(after)}`);
    await assertFocusVisible(page, "after Not interested");
    if (after.id === "offer-use") {
      // Said in a status region that stays in the page: the old offer went, another took its place.
      const nextTitle = catalog.offers.find((o) => o.id === next).creative.title;
      assert.equal(await page.getAttribute("#offer-announce", "role"), "status");
      assert.equal(await page.textContent("#offer-announce"), `You will not see “${title}” again for 48 hours. Another offer took its place: “${nextTitle}”.`);
    }
  } finally {
    await b.close();
  }
});

test("Why this offer names the products the shopper looked at, never their IDs, in the same words in the embed and on Your data", async () => {
  const b = await browser();
  try {
    const page = await b.context.newPage();
    await browseAs(page, server.url, "running");
    const names = new Set(products.map((p) => p.name));
    let mine;
    let embed;
    for (let attempt = 0; attempt < 3; attempt++) {
      await visit(page, server.url, "your-data.html");
      mine = await page.$eval("#why-now .why-sentence", (s) => ({ text: s.textContent, offer: s.dataset.offerId }));
      await page.goto(server.url + "embed.html");
      await page.waitForSelector("pocket-offer[data-state='shown']", { timeout: 20_000 });
      embed = { text: await page.textContent("pocket-offer .pocket-offer-why-text"), offer: await page.getAttribute("pocket-offer", "data-offer-id") };
      if (mine.offer === embed.offer) break; // else one of the two explored (1% of choices)
    }
    assert.equal(embed.offer, mine.offer);
    assert.equal(embed.text, mine.text, "the same sentence");
    assert.doesNotMatch(mine.text, ITEM_ID, mine.text);
    assert.ok([...names].some((n) => mine.text.includes(n)), `names a product: ${mine.text}`);
    // No tag code either (category:…, brand:…); a tag is named by a label from any offer of the
    // catalog, or described. The demo catalog labels its departments.
    assert.doesNotMatch(mine.text, /\b[a-z]+:[\w-]+/, mine.text);
    const labels = new Set(catalog.offers.flatMap((o) => Object.values(o.creative?.labels ?? {})));
    const tags = new Set(catalog.offers.flatMap((o) => Object.keys(o.tags ?? {})));
    const unlabeled = [...tags].filter((t) => !catalog.offers.some((o) => o.creative?.labels?.[t]) && !t.startsWith("search:"));
    for (const t of unlabeled) {
      const value = t.split(":")[1];
      // Its value only as part of a label the sentence uses (a product's name), never alone.
      const alone = new RegExp(`(^|[^\\w-])${value}([^\\w-]|$)`, "i");
      const inLabel = [...labels].some((l) => mine.text.includes(l) && alone.test(l));
      assert.ok(!alone.test(mine.text) || inLabel, `the unlabeled tag ${t} is shown by its code: ${mine.text}`);
    }
    assert.match(mine.text, /you (looked at|put|bought) running( items)?\b|this page is about running/, `names the department by its label: ${mine.text}`);
  } finally {
    await b.close();
  }
});

/**
 * Walks focus backwards from the bottom of the page (so that each element scrolls in from
 * under the header) up to the header; each focused element must show a ring of ≥ 3:1 and not
 * sit under the sticky header. Returns how many controls were walked.
 */
async function walkFocus(page, where) {
  // Start after the last element, whatever had focus: a blurred element would stay the point
  // that Shift+Tab starts from.
  await page.evaluate(() => {
    const start = document.createElement("span");
    start.id = "walk-start";
    start.tabIndex = -1;
    document.body.append(start);
    start.focus();
    window.scrollTo(0, document.documentElement.scrollHeight);
  });
  const seen = new Set();
  for (let i = 0; i < 150; i++) {
    await page.keyboard.press("Shift+Tab");
    const r = await focusProbe(page);
    if (!r) continue;
    if (r.inHeader) break; // reached the top
    seen.add(r.what);
    assert.ok(r.outline, `${where}: ${r.what} has a focus outline`);
    assert.ok(r.contrast >= 3, `${where}: ${r.what}'s focus ring has ${r.contrast.toFixed(2)}:1 against its background`);
    assert.equal(r.hidden, false, `${where}: ${r.what} is hidden under the sticky header`);
  }
  await page.evaluate(() => document.getElementById("walk-start")?.remove());
  return seen;
}

test("focus is always visible (≥ 3:1 against its background) and never hidden under the sticky header, on every page and state", async () => {
  const b = await browser();
  try {
    const page = await b.context.newPage();
    await browseAs(page, server.url, "electronics");
    const elec = inDept("electronics");
    // Each page, and the fewest controls below the header it has.
    const pages = [["your-data.html", 8], ["index.html", 8], ["category.html?c=electronics", 8], [`product.html?id=${elec[5].id}`, 4], ["cart.html", 4], ["search.html#q=cable", 2], ["embed.html", 2]];
    for (const [path, least] of pages) {
      if (path === "embed.html") await openEmbed(page, server.url);
      else await visit(page, server.url, path);
      const seen = await walkFocus(page, path);
      assert.ok(seen.size >= least, `${path}: walked ${seen.size} controls`);
    }

    // Your data in its states: the never-record field in error, and Undo offered (the page's
    // clock stopped, so that the window stays open while the walk runs).
    await visit(page, server.url, "your-data.html");
    await page.fill("#sensitive-input", "not valid!");
    await page.press("#sensitive-input", "Enter");
    await page.waitForSelector("#sensitive-input[aria-invalid='true']");
    assert.ok((await walkFocus(page, "your data, never-record error")).has("sensitive-input"));
    await page.clock.install();
    await visit(page, server.url, "your-data.html");
    await page.focus("#clear");
    await page.keyboard.press("Enter"); // from the keyboard: the ring shows where the page put focus
    await page.waitForSelector("#undo:not([hidden])");
    await assertFocusVisible(page, "Undo, focused by the page");
    assert.ok((await walkFocus(page, "your data, undo offered")).has("undo"), "the walk reached Undo");
  } finally {
    await b.close();
  }
});

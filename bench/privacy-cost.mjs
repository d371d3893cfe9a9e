// What the weekly bound of exact reports costs shoppers in the demo shop's browsing flows:
// `node bench/privacy-cost.mjs` (after scripts/build). Three shoppers (running, baking,
// gardening) browse a day's flow of the demo shop in real Chromium: the home page, their
// department, products of it, other departments, a search, the cart, back home; each page with
// an offer slot shows an offer. Run once with the default bound (24 bits a week) and once with
// the bound set out of reach (`bitsPerWeek: 1000`), on the same flow. Printed: the share of
// offers the profile chose (reason "personal") and the share that match the shopper's
// department, after the first page that teaches the profile something.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { ROOT, browser, visit } from "../www/tests/harness.mjs";
import { startServer } from "../www/server.mjs";

const products = JSON.parse(await readFile(join(ROOT, "www", "products.json"), "utf8"));
const offers = JSON.parse(await readFile(join(ROOT, "www", "offers.json"), "utf8")).offers;
const departmentOf = new Map(offers.map((o) => [o.id, Object.keys(o.tags ?? {}).find((t) => t.startsWith("category:"))?.slice(9)]));

function flow(dept) {
  const mine = products.filter((p) => p.department === dept).slice(0, 4);
  const others = ["running", "baking", "gardening", "coffee"].filter((d) => d !== dept);
  return [
    "index.html",
    `category.html?c=${dept}`,
    ...mine.map((p) => `product.html?id=${p.id}`),
    "index.html",
    `category.html?c=${others[0]}`,
    `product.html?id=${mine[0].id}`,
    `category.html?c=${dept}`,
    `search.html#q=${encodeURIComponent(mine[1].name.split(" ")[0])}`,
    `category.html?c=${others[1]}`,
    "cart.html",
    "index.html",
    `product.html?id=${mine[2].id}`,
    `category.html?c=${others[2]}`,
    "index.html",
  ];
}

async function run(privacy) {
  const server = await startServer({ port: 0, quiet: true, site: privacy ? { privacy } : null });
  const rows = [];
  try {
    for (const dept of ["running", "baking", "gardening"]) {
      const b = await browser();
      try {
        const page = await b.context.newPage();
        for (const [k, path] of flow(dept).entries()) {
          await visit(page, server.url, path);
          const shown = await page.evaluate(() => {
            const a = document.querySelector("[data-reason]");
            return a ? { reason: a.getAttribute("data-reason"), offer: a.getAttribute("data-offer-id") } : null;
          });
          if (k > 0 && shown && shown.reason !== "none") rows.push({ dept, ...shown, match: departmentOf.get(shown.offer) === dept });
        }
      } finally {
        await b.close();
      }
    }
  } finally {
    await server.close();
  }
  const share = (f) => (rows.filter(f).length / Math.max(1, rows.length)).toFixed(2);
  return { n: rows.length, personal: share((r) => r.reason === "personal"), match: share((r) => r.match) };
}

const bounded = await run(null);
const loose = await run({ bitsPerWeek: 1000 });
console.log("| bound | offers shown | chosen by the profile | of the shopper's department |");
console.log("| --- | ---: | ---: | ---: |");
console.log(`| 24 bits a week (default) | ${bounded.n} | ${bounded.personal} | ${bounded.match} |`);
console.log(`| out of reach (1000 bits) | ${loose.n} | ${loose.personal} | ${loose.match} |`);

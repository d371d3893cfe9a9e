// What the weekly bound of exact reports costs shoppers in the demo shop's browsing flows:
// `node bench/privacy-cost.mjs` (after scripts/build). Three shoppers (running, baking,
// gardening) browse a day's flow of the demo shop in real Chromium: the home page, their
// department, products of it, other departments, a search, the cart, back home; each page with
// an offer slot shows an offer. Run once with the default bound (24 bits a week) and once with
// the bound set out of reach (`bitsPerWeek: 1000`), on the same flow. Printed: the share of
// offers the profile chose (reason "personal") and the share that match the shopper's
// department, after the first page that teaches the profile something.
// `--days N` (default 1): the same flow on N consecutive days of one week, the browser's clock
// moved a day ahead each time (Playwright's clock), so that the following days' new questions
// meet what the first day spent; the table then has one row per day.
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

const daysArg = process.argv.indexOf("--days");
const DAYS = daysArg > 0 ? Number(process.argv[daysArg + 1]) : 1;
// A Monday, 09:00 UTC: the week's days follow it.
const START = Date.parse("2026-11-23T09:00:00Z");
const DAY = 86_400_000;

async function run(privacy) {
  const server = await startServer({ port: 0, quiet: true, site: privacy ? { privacy } : null });
  const rows = [];
  try {
    for (const dept of ["running", "baking", "gardening"]) {
      const b = await browser();
      try {
        if (DAYS > 1) await b.context.clock.install({ time: START });
        const page = await b.context.newPage();
        for (let day = 0; day < DAYS; day++) {
          if (DAYS > 1) await b.context.clock.setSystemTime(START + day * DAY);
          for (const [k, path] of flow(dept).entries()) {
            await visit(page, server.url, path);
            const shown = await page.evaluate(() => {
              const a = document.querySelector("[data-reason]");
              return a ? { reason: a.getAttribute("data-reason"), offer: a.getAttribute("data-offer-id") } : null;
            });
            if ((day > 0 || k > 0) && shown && shown.reason !== "none") rows.push({ day, dept, ...shown, match: departmentOf.get(shown.offer) === dept });
          }
        }
      } finally {
        await b.close();
      }
    }
  } finally {
    await server.close();
  }
  const share = (rs, f) => (rs.filter(f).length / Math.max(1, rs.length)).toFixed(2);
  return Array.from({ length: DAYS }, (_, day) => {
    const rs = rows.filter((r) => r.day === day);
    return { n: rs.length, personal: share(rs, (r) => r.reason === "personal"), match: share(rs, (r) => r.match) };
  });
}

const bounded = await run(null);
const loose = await run({ bitsPerWeek: 1000 });
console.log("| bound | day | offers shown | chosen by the profile | of the shopper's department |");
console.log("| --- | ---: | ---: | ---: | ---: |");
for (const [name, days] of [["24 bits a week (default)", bounded], ["out of reach (1000 bits)", loose]]) {
  for (const [day, r] of days.entries()) console.log(`| ${name} | ${day + 1} | ${r.n} | ${r.personal} | ${r.match} |`);
}

// Pocket Shop: what every page of the demo shares.
//
// Opens the shopper's pocketrank profile (namespace "shop", or ?ns=… for tests), loads the
// products and the offer catalog (both on every page, whatever the profile holds), renders the
// header, and fills the offer slot. Text from products, the catalog and the profile is only
// ever inserted with textContent / setAttribute, never as HTML.
// The embed's start: loads the engine and runs each part once in a short task of its own, so
// that no step below is long on a slow phone (see pocket-offer.js).
// Its preloadCreatives: the images of every offer load alike, whichever one is shown.
import { preloadCreatives, start, step } from "/pkg/pocket-offer.js";

// The package's module, as start() loads it (dynamically, after the page's first task: a
// static import put the glue's parsing and evaluation in the page module's task, the longest
// on a phone). Set by boot(); live bindings, so a page reads them after `await boot()`.
export let Engine;
export let Catalog;
export let checkSensitive;

export const REPORT_URL = "/offers/report";
export const CART_KEY = "shop:cart";

const params = new URLSearchParams(location.search);
/** The ?ns= override, kept on every link so that a test stays in its own namespace. */
const nsOverride = /^[A-Za-z0-9._-]{1,64}$/.test(params.get("ns") ?? "") ? params.get("ns") : null;
export const namespace = nsOverride ?? "shop";

export const DEPARTMENTS = [
  { id: "running", name: "Running", color: "#1e7a4c", blurb: "Shoes, apparel and gear for road and trail." },
  { id: "baking", name: "Baking", color: "#b5532a", blurb: "Bakeware, tools and everything for bread." },
  { id: "gardening", name: "Gardening", color: "#4d7c0f", blurb: "Seeds, tools and beds for every plot." },
  { id: "kids", name: "Kids", color: "#7c3aed", blurb: "Toys, books and outdoor fun." },
  { id: "electronics", name: "Electronics", color: "#1d4ed8", blurb: "Audio, charging and desk upgrades." },
  { id: "coffee", name: "Coffee", color: "#6b4226", blurb: "Fresh beans, grinders and brewers." },
];
export const department = (id) => DEPARTMENTS.find((d) => d.id === id);

// Hand-made department icons (48×48, drawn in the department's colour): no emoji fonts needed.
const ICONS = {
  running: [["path", { d: "M5 36V27c5 0 9-3 11-8l9 2c2 5 8 8 15 9 3 1 4 3 4 6v2H5z" }], ["rect", { x: 5, y: 38, width: 39, height: 3, rx: 1.5 }]],
  baking: [["path", { d: "M11 24h26l-4 17H15z" }], ["path", { d: "M9 24c0-8 7-13 15-13s15 5 15 13z", opacity: 0.7 }], ["circle", { cx: 24, cy: 8, r: 3 }]],
  gardening: [["rect", { x: 22.5, y: 20, width: 3, height: 16 }], ["path", { d: "M24 22C24 13 18 9 9 10c0 8 6 12 15 12z" }], ["path", { d: "M24 26c0-8 6-12 15-11 0 8-6 11-15 11z", opacity: 0.7 }], ["path", { d: "M13 36h22l-3 8H16z" }]],
  kids: [["rect", { x: 7, y: 26, width: 15, height: 15, rx: 2 }], ["rect", { x: 26, y: 26, width: 15, height: 15, rx: 2, opacity: 0.7 }], ["rect", { x: 16.5, y: 9, width: 15, height: 15, rx: 2, opacity: 0.85 }]],
  electronics: [["path", { d: "M8 30v-6a16 16 0 0 1 32 0v6h-4v-6a12 12 0 0 0-24 0v6z" }], ["rect", { x: 6, y: 28, width: 9, height: 13, rx: 3 }], ["rect", { x: 33, y: 28, width: 9, height: 13, rx: 3 }]],
  coffee: [["path", { d: "M9 18h24v13a9 9 0 0 1-9 9h-6a9 9 0 0 1-9-9z" }], ["path", { d: "M33 21h3a5 5 0 0 1 0 10h-3v-3h3a2 2 0 0 0 0-4h-3z" }], ["rect", { x: 6, y: 42, width: 32, height: 3, rx: 1.5 }], ["path", { d: "M17 6c-2 3 2 5 0 8M24 6c-2 3 2 5 0 8", stroke: "currentColor", "stroke-width": 2, fill: "none", opacity: 0.6 }]],
};
const SVG_NS = "http://www.w3.org/2000/svg";

/** The department's icon as an inline SVG element (decorative). */
export function deptIcon(id, size = 48) {
  const d = department(id);
  const svg = document.createElementNS(SVG_NS, "svg");
  for (const [k, v] of Object.entries({ viewBox: "0 0 48 48", width: size, height: size, fill: "currentColor", "aria-hidden": "true", class: "icon" })) svg.setAttribute(k, String(v));
  if (d) svg.style.color = d.color;
  for (const [tag, attrs] of ICONS[id] ?? [["rect", { x: 8, y: 12, width: 32, height: 28, rx: 4 }]]) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
    svg.append(node);
  }
  return svg;
}

// ---------------------------------------------------------------------------------------
// Small DOM helpers.

/** Creates an element; `text` is set with textContent, `attrs` with setAttribute. */
export function el(tag, { className, text, attrs } = {}, ...children) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  for (const [k, v] of Object.entries(attrs ?? {})) if (v !== undefined && v !== null) node.setAttribute(k, String(v));
  node.append(...children.filter(Boolean));
  return node;
}

/** A same-site link that keeps the ?ns= override. */
export function link(path, query = {}) {
  const q = new URLSearchParams(query);
  if (nsOverride) q.set("ns", nsOverride);
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

export const param = (name) => params.get(name);

/** The search words, from the URL's fragment (never sent to any server). */
export const searchQuery = () => (new URLSearchParams(location.hash.slice(1)).get("q") ?? "").trim().slice(0, 200);

// Prices are in US dollars. Written by hand: creating an Intl.NumberFormat loads locale data,
// which alone took about 75 ms of the home page's start on a phone-speed CPU.
export const formatPrice = (n) => {
  const [whole, cents] = (Number(n) || 0).toFixed(2).split(".");
  return `$${whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",")}.${cents}`;
};

export function markReady() {
  document.body.dataset.ready = "1";
}

/** Records an event; a malformed event is logged, never fatal. */
export function record(engine, event) {
  try {
    return engine.record(event);
  } catch (e) {
    console.warn("pocketrank record:", e?.code, e?.message);
    return false;
  }
}

// ---------------------------------------------------------------------------------------
// The cart: the shop's own localStorage key (not pocketrank's).

let memoryCart = [];

export function getCart() {
  try {
    const raw = JSON.parse(localStorage.getItem(CART_KEY) ?? "[]");
    if (!Array.isArray(raw)) return [];
    return raw
      .filter((l) => l && typeof l.id === "string" && Number.isInteger(l.qty) && l.qty > 0)
      .map(({ id, qty }) => ({ id, qty }));
  } catch {
    return memoryCart;
  }
}

export function setCart(lines) {
  memoryCart = lines;
  try {
    if (lines.length) localStorage.setItem(CART_KEY, JSON.stringify(lines));
    else localStorage.removeItem(CART_KEY);
  } catch {
    // No localStorage: the cart lives for this page only.
  }
  updateCartCount();
}

export function addToCart(id) {
  const lines = getCart();
  const line = lines.find((l) => l.id === id);
  if (line) line.qty += 1;
  else lines.push({ id, qty: 1 });
  setCart(lines);
}

export function updateCartCount() {
  const count = getCart().reduce((n, l) => n + l.qty, 0);
  const badge = document.getElementById("cart-count");
  if (badge) badge.textContent = String(count);
}

// ---------------------------------------------------------------------------------------
// Header, footer, notices.

function renderHeader() {
  let header = document.getElementById("site-header");
  if (!header) {
    header = el("header", { attrs: { id: "site-header" } });
    document.body.prepend(header);
  }
  const here = location.pathname;
  const current = (path, extra = true) => (here === path && extra ? "page" : null);

  const logo = el("a", { className: "logo", attrs: { href: link("/index.html") } }, "Pocket", el("span", { text: "Shop" }));
  const nav = el("nav", { className: "main-nav", attrs: { "aria-label": "Departments" } },
    el("a", { text: "Home", attrs: { href: link("/index.html"), "aria-current": here === "/" ? "page" : current("/index.html") } }),
    ...DEPARTMENTS.map((d) =>
      el("a", { text: d.name, attrs: { href: link("/category.html", { c: d.id }), "data-dept": d.id, "aria-current": current("/category.html", param("c") === d.id) } }),
    ),
  );

  const input = el("input", { attrs: { id: "search-input", name: "q", type: "search", placeholder: "Search products", "aria-label": "Search products", autocomplete: "off" } });
  if (here === "/search.html") input.value = searchQuery();
  // The search runs in the browser over products.json: the words typed never leave it. They
  // travel to the search page in the URL's fragment (#q=…), which no request, no Referer
  // and no server log ever carries.
  const form = el("form", { attrs: { id: "search-form", action: "/search.html", role: "search" } }, input);
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const target = `${link("/search.html")}#${new URLSearchParams({ q: input.value.trim() })}`;
    if (here === "/search.html") {
      location.hash = new URLSearchParams({ q: input.value.trim() }).toString();
    } else {
      location.assign(target);
    }
  });
  form.append(el("button", { className: "small", text: "Search", attrs: { type: "submit" } }));

  const links = el("div", { className: "header-links" },
    el("a", { attrs: { id: "cart-link", href: link("/cart.html"), "aria-current": current("/cart.html") } }, "Cart ", el("span", { className: "cart-count", text: "0", attrs: { id: "cart-count" } })),
    el("a", { text: "Your data", attrs: { id: "your-data-link", href: link("/your-data.html"), "aria-current": current("/your-data.html") } }),
  );

  header.replaceChildren(el("div", { className: "wrap header-inner" }, logo, nav, form, links));
  updateCartCount();
  // The sticky header's height, for scroll-padding (style.css): what gets focus is never under it.
  // (ResizeObserver reports it after layout, without forcing one.)
  if (typeof ResizeObserver === "function") {
    new ResizeObserver(([entry]) => {
      const height = entry.borderBoxSize?.[0]?.blockSize ?? entry.contentRect.height;
      document.documentElement.style.setProperty("--header-height", `${Math.ceil(height)}px`);
    }).observe(header);
  }

  if (!document.querySelector(".site-footer")) {
    document.body.append(
      el("footer", { className: "site-footer" },
        el("div", { className: "wrap" },
          "Pocket Shop is a demo. Personalization runs on your device; only the ID of an offer shown is ever sent. ",
          el("a", { text: "See and control your data", attrs: { href: link("/your-data.html") } }),
          ".",
        ),
      ),
    );
  }
}

function mainElement() {
  return document.querySelector("main") ?? document.body;
}

function showQuarantineNotice(engine) {
  let status;
  try {
    status = engine.status();
  } catch {
    return;
  }
  if (!status?.quarantined?.length || document.getElementById("storage-notice")) return;
  const notice = el("p", { className: "notice", attrs: { id: "storage-notice", role: "note" } },
    "We found unreadable saved data and set it aside. ",
    el("a", { text: "Your data", attrs: { href: link("/your-data.html") } }),
  );
  mainElement().prepend(notice);
}

export function showError(message) {
  const box = el("p", { className: "notice", text: message, attrs: { id: "page-error", role: "alert" } });
  mainElement().prepend(box);
}

// ---------------------------------------------------------------------------------------
// Start-up.

async function fetchText(url) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return res.text();
}

/**
 * Renders the header and loads everything a page needs. Resolves to
 * `{ engine, catalog, products, byId }`; `catalog` is null when the catalog could not be read
 * (the page then works without offers).
 */
export async function boot() {
  renderHeader();
  // Both files are fetched on every page, whatever the profile holds: the requests a page
  // makes never depend on what the shopper did.
  const productsText = fetchText("/products.json");
  productsText.catch(() => {}); // handled below, after init
  const catalogText = fetchText("/offers.json").catch((e) => e);
  // The site's settings (the same file for every shopper): its privacy mode.
  const siteText = fetchText("/site.json").catch((e) => e);
  ({ Engine, Catalog, checkSensitive } = await start());
  let site = {};
  const siteValue = await siteText;
  if (!(siteValue instanceof Error)) {
    try {
      site = JSON.parse(siteValue);
    } catch {
      console.warn("site.json is not JSON: default settings");
    }
  }
  const engine = await step("open", () => {
    try {
      return Engine.open(site.privacy ? { namespace, privacy: site.privacy } : { namespace });
    } catch (e) {
      console.warn("site.json privacy settings refused:", e?.code, e?.message);
      return Engine.open({ namespace });
    }
  });
  showQuarantineNotice(engine);

  let catalog = null;
  const text = await catalogText;
  if (text instanceof Error) {
    console.warn("offers:", text.message);
  } else {
    catalog = await step("catalog", () => {
      try {
        return Catalog.fromJson(text);
      } catch (e) {
        console.warn("offers: the catalog is invalid:", e?.code, e?.message);
        return null;
      }
    });
  }

  const productsJson = await productsText;
  const products = await step("products", () => JSON.parse(productsJson));
  const byId = new Map(products.map((p) => [p.id, p]));
  return { engine, catalog, products, byId };
}

/** Runs a page's code; on failure, says so and still marks the page ready. */
export function run(main) {
  main().catch((e) => {
    console.error(e);
    showError("Sorry, part of this page could not be loaded.");
    document.body.dataset.error = e?.code ?? "error";
    markReady();
  });
}

// ---------------------------------------------------------------------------------------
// Products.

export function productCard(p) {
  const d = department(p.department);
  const thumb = el("div", { className: "thumb", attrs: { "aria-hidden": "true" } }, deptIcon(p.department, 72));
  if (d) thumb.style.setProperty("--dept", d.color);
  return el("li", { className: "card", attrs: { "data-product": p.id } },
    el("a", { attrs: { href: link("/product.html", { id: p.id }) } },
      thumb,
      el("div", { className: "card-body" },
        el("span", { className: "card-name", text: p.name }),
        el("span", { className: "card-brand", text: p.brand }),
        el("span", { className: "price", text: formatPrice(p.price) }),
      ),
    ),
  );
}

export function productList(products, id) {
  return el("ul", { className: "products", attrs: { id } }, ...products.map(productCard));
}

// ---------------------------------------------------------------------------------------
// The offer slot.

let reported = false;

function offerAside() {
  let aside = document.getElementById("offer");
  if (!aside) {
    aside = el("aside", { attrs: { id: "offer", "aria-label": "Offer" } });
    mainElement().append(aside);
  }
  return aside;
}

function choose(engine, catalog, request) {
  if (!catalog) return undefined;
  try {
    return engine.choose(catalog, request);
  } catch (e) {
    console.warn("pocketrank choose:", e?.code, e?.message);
    return undefined;
  }
}

function renderOffer(aside, decision, { engine, images, onDismiss }) {
  aside.replaceChildren();
  aside.style.removeProperty("--offer-color");
  if (!decision) {
    aside.hidden = true;
    aside.removeAttribute("data-offer-id");
    aside.setAttribute("data-reason", "none");
    return;
  }
  const id = decision.offerId;
  const raw = decision.creative;
  const creative = raw && typeof raw === "object" ? raw : { text: typeof raw === "string" ? raw : undefined };
  const str = (v) => (typeof v === "string" || typeof v === "number" ? String(v) : null);

  aside.hidden = false;
  aside.setAttribute("data-offer-id", id);
  aside.setAttribute("data-reason", decision.reason);
  if (typeof creative.color === "string" && /^#[0-9a-fA-F]{3,8}$/.test(creative.color)) {
    aside.style.setProperty("--offer-color", creative.color);
  }

  // The card is one real button whose accessible name is its visible text (title, then text).
  const body = el("button", { className: "offer-main", attrs: { type: "button", id: "offer-use" } });
  // A data: image as it is; an image by URL from what preloadCreatives loaded for every offer.
  const img = images.img(creative.image, { width: 56, height: 56 });
  if (img) body.append(img);
  body.append(el("span", { className: "offer-copy" },
    el("strong", { className: "offer-title", text: str(creative.title) ?? id }),
    str(creative.text) && el("span", { className: "offer-text", text: str(creative.text) }),
  ));

  let explanation;
  try {
    explanation = decision.explain();
  } catch {
    explanation = "This offer was chosen on your device.";
  }
  const whyText = el("p", { text: explanation, attrs: { id: "why-text", hidden: "" } });
  const why = el("button", { className: "link", text: "Why this offer?", attrs: { id: "why", type: "button", "aria-expanded": "false", "aria-controls": "why-text" } });
  why.addEventListener("click", () => {
    whyText.hidden = !whyText.hidden;
    why.setAttribute("aria-expanded", String(!whyText.hidden));
  });
  const dismiss = el("button", { className: "link", text: "Not interested", attrs: { id: "dismiss", type: "button" } });
  dismiss.addEventListener("click", () => {
    try {
      engine.feedback(id, "dismiss");
    } catch (e) {
      console.warn("pocketrank feedback:", e?.code, e?.message);
    }
    onDismiss();
  });

  // A status region that is in the page before its message, so that screen readers announce it.
  const note = el("p", { className: "offer-note", attrs: { id: "offer-note", role: "status" } });
  let clicked = false;
  const use = () => {
    note.textContent = "Offer saved: it will apply at checkout.";
    if (clicked) return;
    clicked = true;
    try {
      engine.feedback(id, "click");
    } catch (e) {
      console.warn("pocketrank feedback:", e?.code, e?.message);
    }
  };
  body.addEventListener("click", use);

  aside.append(
    el("p", { className: "offer-eyebrow", text: decision.reason === "personal" ? "Picked for you" : "Offer" }),
    body,
    note,
    el("div", { className: "offer-actions" }, why, dismiss),
    whyText,
  );
}

/**
 * Chooses an offer for the slot and renders it into <aside id="offer">, with "Why this offer?"
 * and "Not interested". Reports the first offer shown (its ID, nothing else) once per page
 * load, then marks the page ready. Resolves to the decision, or undefined.
 */
export async function fillOfferSlot(engine, catalog, { slot, context = [] } = {}) {
  const aside = offerAside();
  const request = { slot, context };
  // The image of every offer of the catalog starts loading now, whatever the choice: the requests
  // are the same whichever offer is shown (privacy rule 3).
  const images = preloadCreatives(catalog);
  // After "Not interested", focus goes to the offer shown instead, or, when there is none, to a
  // line that says what happened: never to the top of the page.
  // A status region that stays in the page (the card is rebuilt), so that the replacement is
  // announced: focus alone would read the new card without saying the old one went away.
  let announce = document.getElementById("offer-announce");
  if (!announce) {
    announce = el("p", { className: "visually-hidden", attrs: { id: "offer-announce", role: "status" } });
    aside.after(announce);
  }
  const titleOf = (d, otherwise) => (d?.creative && typeof d.creative.title === "string" ? d.creative.title : otherwise);
  const afterDismiss = (previous) => {
    const title = titleOf(previous, "that offer");
    const chosen = choose(engine, catalog, request);
    // The same offer again: its dismissal does not count while nothing of the shopper decides
    // the choice (exact reports with an empty or paused profile, or this week's answer given
    // again; PRIVACY.md). The card goes from this page, and the line says only what is true.
    const same = chosen && chosen.offerId === previous?.offerId;
    const next = same ? undefined : chosen;
    renderOffer(aside, next, { engine, images, onDismiss: () => afterDismiss(next) });
    if (next) {
      announce.textContent = `You will not see “${title}” again for 48 hours. Another offer took its place: “${titleOf(next, next.offerId)}”.`;
      aside.querySelector("#offer-use")?.focus();
      return;
    }
    announce.textContent = "";
    aside.hidden = false;
    const text = same ? `“${title}” is hidden on this page; the shop may still show it on other pages.` : `You will not see “${title}” again for 48 hours.`;
    const line = el("p", { className: "offer-gone", text, attrs: { id: "offer-gone", tabindex: "-1" } });
    aside.replaceChildren(line);
    line.focus();
  };
  // The page's own rendering first; the choice, then the report, each in a task of its own.
  const decision = await step("choose", () => choose(engine, catalog, request));
  await step("render", () => renderOffer(aside, decision, { engine, images, onDismiss: () => afterDismiss(decision) }));
  if (decision && !reported) {
    reported = true;
    try {
      await step("report", () => engine.report(decision, REPORT_URL));
    } catch (e) {
      console.warn("pocketrank report:", e?.code, e?.message);
    }
  }
  markReady();
  return decision;
}

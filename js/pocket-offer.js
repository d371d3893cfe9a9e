// <pocket-offer>: the one-tag embed of pocketrank.
//
//   <script type="module" src="/pkg/pocket-offer.js"></script>
//   <pocket-offer catalog="/offers.json" report="/offers/report" placement="home"></pocket-offer>
//
// Attributes: catalog (URL of the JSON catalog), report (URL of the report endpoint; none: no
// report), placement (the slot's name, for offers tagged slot:<name>), context (tags of the page,
// comma-separated), namespace (storage namespace, default "default"), privacy (the engine's
// privacy option as JSON, for example '{"epsilon":1,"budgetPerWeek":8}'; the first element of a
// namespace decides it), label (the card's accessible name, default "Offer").
// It opens the shopper's profile from localStorage, chooses an offer, renders the creative's
// title, text and image as text and attributes only, never as HTML, and sends the report: the
// offer ID and nothing else. Emits "pocket-offer-shown" with { offerId }.
//
// Images: `data:image/…` is shown as it is; http(s) URLs are fetched for EVERY offer alike,
// whatever is chosen, and the chosen one is shown from memory (see preloadCreatives).
//
// It never holds up the page: this file is tiny and imports nothing up front. The engine (the
// package's JS glue and its .wasm, fetched and compiled streaming) is loaded when the page is
// idle or when a slot comes near the viewport, whichever is first; a slot chooses its offer
// only once it is near the viewport; and every step (load, catalog, profile, choice, render)
// runs in its own task, so that none of them keeps the main thread for long on a slow phone.

let started;
const catalogs = new Map();
const engines = new Map();
let uid = 0;

/** Lets the browser run input, rendering and other tasks before the next step. */
export const yieldToPage = () =>
  globalThis.scheduler?.yield ? globalThis.scheduler.yield() : new Promise((resolve) => setTimeout(resolve, 0));

/**
 * Runs `fn` in a task of its own (after yielding to the page), and records how long it took as
 * a User Timing measure named "pocketrank:<name>" (visible in DevTools' performance panel).
 */
export async function step(name, fn) {
  await yieldToPage();
  const t0 = performance.now();
  try {
    return fn();
  } finally {
    try {
      performance.measure(`pocketrank:${name}`, { start: t0 });
    } catch {
      // No User Timing level 3: nothing to record.
    }
  }
}

// A catalog of one offer, to run each part of the engine once before it is needed.
const WARM_UP_CATALOG = '{"version":1,"offers":[{"id":"W","tags":{"w:w":1},"items":["w"],"creative":{"labels":{"w":"w"}}}],"fallback":"W"}';

/**
 * Loads and starts the engine once; resolves to the package's module. Page code that uses the
 * engine directly can await it too (`import { start } from ".../pocket-offer.js"`).
 *
 * The browser compiles each function of the .wasm the first time it runs (lazily), so the first
 * catalog read, the first profile load and the first choice would each carry the compilation
 * of everything they touch: up to 100 ms on a phone. Running each part once on a one-offer
 * catalog and an in-memory profile, in tasks of their own, spreads that work out, so that no
 * task is long; the real catalog, profile and choice then run on compiled code.
 */
export function start() {
  // pocketrank-ready.js is written by the build: the web build's init() (it compiles the .wasm
  // while it streams in), or nothing to wait for in a bundler's build.
  started ??= Promise.all([import("./pocketrank.js"), import("./pocketrank-ready.js")]).then(async ([pocketrank, { ready }]) => {
    await yieldToPage();
    await ready();
    try {
      const catalog = await step("warm-up:catalog", () => pocketrank.Catalog.fromJson(WARM_UP_CATALOG));
      const engine = await step("warm-up:engine", () => pocketrank.Engine.inMemory({ namespace: "warm-up", exploration: 0 }));
      await step("warm-up:record", () => engine.record({ kind: "view", tags: ["w:w"], item: "w" }));
      await step("warm-up:choose", () => engine.choose(catalog, { preview: true })?.explain());
      engine.free?.();
      catalog.free?.();
    } catch (e) {
      // Only a speed-up: the engine works without it.
      console.warn("pocket-offer warm-up:", e?.code, e?.message);
    }
    await yieldToPage();
    return pocketrank;
  });
  return started;
}

// ---------------------------------------------------------------------------------------
// Creative images by URL, loaded for every offer alike.

/** The most distinct image URLs a catalog may name for them to be loaded: past it, none is. */
export const MAX_CREATIVE_IMAGES = 64;

// The catalog is read in slices of about this many milliseconds, each in a task of its own.
const SLICE_MS = 4;
const preloads = new WeakMap();

/** The absolute http(s) URL a creative's `image` names, normalized, or null. */
function httpUrl(image) {
  if (typeof image !== "string" || !/^https?:\/\//i.test(image)) return null;
  try {
    const url = new URL(image);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch {
    return null;
  }
}

const isDataImage = (image) => typeof image === "string" && image.startsWith("data:image/");

/** The distinct http(s) image URLs of the creatives, in catalog order; null past `limit`. */
async function imageUrls(catalog, limit) {
  let count = 0;
  let creativeAt;
  if (typeof catalog?.offerIds === "function" && typeof catalog?.creative === "function") {
    // (One call: about 1 ms per thousand offers.)
    const ids = await step("images", () => catalog.offerIds());
    count = ids.length;
    creativeAt = (i) => catalog.creative(ids[i]);
  } else if (Array.isArray(catalog?.offers)) {
    const offers = catalog.offers;
    count = offers.length;
    creativeAt = (i) => offers[i]?.creative;
  }
  const urls = new Set();
  let i = 0;
  while (i < count) {
    const over = await step("images", () => {
      const t0 = performance.now();
      do {
        const creative = creativeAt(i++);
        const url = creative && typeof creative === "object" ? httpUrl(creative.image) : null;
        if (url) {
          urls.add(url);
          if (urls.size > limit) return true;
        }
      } while (i < count && performance.now() - t0 < SLICE_MS);
      return false;
    });
    if (over) return null;
  }
  return [...urls];
}

/** One image, as every offer's is loaded: no cookie, no referrer, kept as a blob: URL. */
async function loadImage(url) {
  const response = await fetch(url, { credentials: "omit", referrerPolicy: "no-referrer", mode: "cors", priority: "low" });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  const blob = await response.blob();
  if (!blob.type.startsWith("image/")) throw new Error(`not an image: ${blob.type || "no type"}`);
  return URL.createObjectURL(blob);
}

/**
 * Starts loading the image of every offer in `catalog` (a `Catalog` or a plain catalog object),
 * whatever the profile holds, and returns how to show them (see pocket-offer.d.ts). Each
 * distinct http(s) URL is fetched once; a shown image asks the network for nothing; past the
 * limit, nothing is fetched (never only some). Nothing is ever fetched for one offer alone.
 */
export function preloadCreatives(catalog, { limit = MAX_CREATIVE_IMAGES } = {}) {
  if (catalog && typeof catalog === "object" && preloads.has(catalog)) return preloads.get(catalog);
  const sources = new Map();
  let released = false;
  const done = imageUrls(catalog, limit).then(async (urls) => {
    if (!urls || released) return { urls: [], loaded: 0, failed: 0, overLimit: !urls };
    // Every request leaves now, together, whatever is chosen (nothing waits for the choice).
    for (const url of urls) {
      const source = loadImage(url);
      source.catch(() => {});
      sources.set(url, source);
    }
    const results = await Promise.allSettled(sources.values());
    const loaded = results.filter((r) => r.status === "fulfilled").length;
    return { urls, loaded, failed: results.length - loaded, overLimit: false };
  });
  const images = {
    done,
    /** A data:image/ URL as it is, the blob: URL of a loaded image, or null. */
    async src(image) {
      if (isDataImage(image)) return image;
      const url = httpUrl(image);
      if (!url || released) return null;
      await done;
      try {
        return (await sources.get(url)) ?? null;
      } catch {
        return null;
      }
    },
    /** An <img alt="">, hidden until loaded (removed if it cannot be), or null. */
    img(image, { className, width = 56, height = 56 } = {}) {
      if (!isDataImage(image) && !httpUrl(image)) return null;
      const img = document.createElement("img");
      if (className) img.className = className;
      img.setAttribute("alt", "");
      img.setAttribute("width", String(width));
      img.setAttribute("height", String(height));
      if (isDataImage(image)) {
        img.setAttribute("src", image);
        return img;
      }
      img.style.visibility = "hidden";
      images.src(image).then((src) => {
        if (!src) {
          img.remove();
          return;
        }
        img.addEventListener("load", () => img.style.removeProperty("visibility"), { once: true });
        img.addEventListener("error", () => img.remove(), { once: true });
        img.setAttribute("src", src);
      });
      return img;
    },
    /** Frees the loaded images (their blob: URLs stop working). */
    release() {
      released = true;
      for (const source of sources.values()) source.then((u) => URL.revokeObjectURL(u), () => {});
      if (catalog && typeof catalog === "object") preloads.delete(catalog);
    },
  };
  if (catalog && typeof catalog === "object") preloads.set(catalog, images);
  return images;
}

function whenIdle(callback) {
  if (typeof requestIdleCallback === "function") requestIdleCallback(callback, { timeout: 4000 });
  else setTimeout(callback, 200);
}

function loadCatalog(pocketrank, url) {
  if (!catalogs.has(url)) {
    catalogs.set(
      url,
      fetch(url, { credentials: "omit" }).then(async (r) => {
        if (!r.ok) throw new Error(`catalog ${url}: HTTP ${r.status}`);
        const text = await r.text();
        return step("catalog", () => pocketrank.Catalog.fromJson(text));
      }),
    );
  }
  return catalogs.get(url);
}

function engineFor(pocketrank, namespace, privacy) {
  if (!engines.has(namespace)) {
    engines.set(namespace, pocketrank.Engine.open(privacy ? { namespace, privacy: JSON.parse(privacy) } : { namespace }));
  }
  return engines.get(namespace);
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

// Slots wait until they are within this distance of the viewport.
const NEAR = "300px";
let observer;
function nearViewport(slot) {
  if (typeof IntersectionObserver !== "function") return Promise.resolve();
  observer ??= new IntersectionObserver((entries) => {
    for (const e of entries) {
      if (e.isIntersecting) {
        observer.unobserve(e.target);
        e.target.near?.();
      }
    }
  }, { rootMargin: NEAR });
  return new Promise((resolve) => {
    slot.near = resolve;
    observer.observe(slot);
  });
}

export class PocketOffer extends HTMLElement {
  /** The decision shown, once rendered. */
  decision = null;

  connectedCallback() {
    if (this.decision || this.dataset.state) return;
    this.dataset.state = "waiting";
    this.setAttribute("aria-busy", "true");
    // Warm up when the page has nothing better to do, so that the offer is ready sooner.
    whenIdle(() => start().catch(() => {}));
    nearViewport(this).then(() => this.fill());
  }

  disconnectedCallback() {
    observer?.unobserve(this);
    if (this.dataset.state === "waiting") delete this.dataset.state;
  }

  async fill() {
    if (this.dataset.state !== "waiting") return;
    this.dataset.state = "loading";
    try {
      const pocketrank = await start();
      const catalog = await loadCatalog(pocketrank, this.getAttribute("catalog") ?? "/offers.json");
      // The images of every offer start loading now, whatever the choice will be.
      const images = preloadCreatives(catalog);
      const engine = await step("open", () => engineFor(pocketrank, this.getAttribute("namespace") ?? "default", this.getAttribute("privacy")));
      const context = (this.getAttribute("context") ?? "").split(",").map((t) => t.trim()).filter(Boolean);
      const placement = this.getAttribute("placement");
      const decision = await step("choose", () => engine.choose(catalog, placement ? { slot: placement, context } : { context }));
      if (!decision) {
        this.dataset.state = "empty";
        this.removeAttribute("aria-busy");
        return;
      }
      this.decision = decision;
      // The card does not wait for its image, and the report does not wait for the card's
      // image: when the report leaves never depends on which image was chosen.
      await step("render", () => this.render(decision, images));
      this.dataset.offerId = decision.offerId;
      this.dataset.state = "shown";
      this.removeAttribute("aria-busy");
      this.dispatchEvent(new CustomEvent("pocket-offer-shown", { bubbles: true, detail: { offerId: decision.offerId } }));
      const report = this.getAttribute("report");
      if (report) {
        // (step resolves when the report's promise does; only its synchronous part is timed.)
        const sent = await step("report", () => engine.report(decision, report)).catch((e) => console.warn("pocketrank report:", e.code, e.message));
        this.dataset.reported = sent ? "1" : "0";
      } else {
        this.dataset.reported = "0";
      }
    } catch (e) {
      this.dataset.state = "error";
      this.dataset.error = e?.code ?? "error";
      this.removeAttribute("aria-busy");
      console.warn("pocket-offer:", e);
    }
  }

  render(decision, images = preloadCreatives(null)) {
    const creative = decision.creative ?? {};
    const id = `pocket-offer-${++uid}`;
    // A labelled group: a screen reader announces "Offer" and the title; the accessible name of
    // everything inside is its visible text.
    const card = el("section", "pocket-offer-card");
    card.setAttribute("aria-labelledby", `${id}-label ${id}-title`);
    const label = el("span", "pocket-offer-label", this.getAttribute("label") ?? "Offer");
    label.id = `${id}-label`;
    card.append(label);
    const img = images.img(creative.image, { className: "pocket-offer-image" });
    if (img) card.append(img);
    const title = el("strong", "pocket-offer-title", typeof creative.title === "string" ? creative.title : decision.offerId);
    title.id = `${id}-title`;
    card.append(title);
    if (typeof creative.text === "string" && creative.text) card.append(el("p", "pocket-offer-text", creative.text));
    let explanation;
    try {
      explanation = decision.explain();
    } catch {
      explanation = "This offer was chosen on your device.";
    }
    const why = el("details", "pocket-offer-why");
    why.append(el("summary", null, "Why this offer?"), el("p", "pocket-offer-why-text", explanation));
    card.append(why);
    this.replaceChildren(card);
  }
}

if (!customElements.get("pocket-offer")) customElements.define("pocket-offer", PocketOffer);

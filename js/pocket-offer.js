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
// title, text and inline (data:) image as text and attributes only, never as HTML, and sends
// the report: the offer ID and nothing else. Emits "pocket-offer-shown" with { offerId }.
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
      await step("render", () => this.render(decision));
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

  render(decision) {
    const creative = decision.creative ?? {};
    const id = `pocket-offer-${++uid}`;
    // A labelled group: a screen reader announces "Offer" and the title; the accessible name of
    // everything inside is its visible text.
    const card = el("section", "pocket-offer-card");
    card.setAttribute("aria-labelledby", `${id}-label ${id}-title`);
    const label = el("span", "pocket-offer-label", this.getAttribute("label") ?? "Offer");
    label.id = `${id}-label`;
    card.append(label);
    if (typeof creative.image === "string" && creative.image.startsWith("data:image/")) {
      const img = el("img", "pocket-offer-image");
      img.setAttribute("src", creative.image);
      img.setAttribute("alt", "");
      img.setAttribute("width", "56");
      img.setAttribute("height", "56");
      card.append(img);
    }
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

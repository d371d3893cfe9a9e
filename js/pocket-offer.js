// <pocket-offer>: the one-tag embed of pocketrank.
//
//   <script type="module" src="/pkg/pocket-offer.js"></script>
//   <pocket-offer catalog="/offers.json" report="/offers/report" placement="home"></pocket-offer>
//
// Attributes: catalog (URL of the JSON catalog), report (URL of the report endpoint; none: no
// report), placement (the slot's name, for offers tagged slot:<name>), context (tags of the page,
// comma-separated), namespace (storage namespace, default "default"), privacy (the engine's
// privacy option as JSON, for example '{"epsilon":1,"budgetPerWeek":8}'; the first element of a
// namespace decides it).
// It opens the shopper's profile from localStorage, chooses an offer, renders the creative's
// title, text and inline (data:) image as text and attributes only, never as HTML, and sends
// the report: the offer ID and nothing else. Emits "pocket-offer-shown" with { offerId }.
import * as pocketrank from "./pocketrank.js";
// Written by the build: the web build's init(), or nothing to wait for in a bundler's build.
import { ready } from "./pocketrank-ready.js";

let started;
const catalogs = new Map();
const engines = new Map();

function start() {
  started ??= ready();
  return started;
}

function loadCatalog(url) {
  if (!catalogs.has(url)) {
    catalogs.set(
      url,
      fetch(url, { credentials: "omit" }).then(async (r) => {
        if (!r.ok) throw new Error(`catalog ${url}: HTTP ${r.status}`);
        return pocketrank.Catalog.fromJson(await r.text());
      }),
    );
  }
  return catalogs.get(url);
}

function engineFor(namespace, privacy) {
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

export class PocketOffer extends HTMLElement {
  /** The decision shown, once rendered. */
  decision = null;

  async connectedCallback() {
    if (this.decision || this.dataset.state === "loading") return;
    this.dataset.state = "loading";
    try {
      await start();
      const catalog = await loadCatalog(this.getAttribute("catalog") ?? "/offers.json");
      const engine = engineFor(this.getAttribute("namespace") ?? "default", this.getAttribute("privacy"));
      const context = (this.getAttribute("context") ?? "").split(",").map((t) => t.trim()).filter(Boolean);
      const placement = this.getAttribute("placement");
      const decision = engine.choose(catalog, placement ? { slot: placement, context } : { context });
      if (!decision) {
        this.dataset.state = "empty";
        return;
      }
      this.decision = decision;
      this.render(decision);
      this.dataset.offerId = decision.offerId;
      this.dataset.state = "shown";
      this.dispatchEvent(new CustomEvent("pocket-offer-shown", { bubbles: true, detail: { offerId: decision.offerId } }));
      const report = this.getAttribute("report");
      if (report) {
        const sent = await engine.report(decision, report).catch((e) => console.warn("pocketrank report:", e.code, e.message));
        this.dataset.reported = sent ? "1" : "0";
      } else {
        this.dataset.reported = "0";
      }
    } catch (e) {
      this.dataset.state = "error";
      this.dataset.error = e?.code ?? "error";
      console.warn("pocket-offer:", e);
    }
  }

  render(decision) {
    const creative = decision.creative ?? {};
    const card = el("div", "pocket-offer-card");
    if (typeof creative.image === "string" && creative.image.startsWith("data:image/")) {
      const img = el("img", "pocket-offer-image");
      img.setAttribute("src", creative.image);
      img.setAttribute("alt", "");
      card.append(img);
    }
    card.append(el("strong", "pocket-offer-title", creative.title ?? decision.offerId));
    if (creative.text) card.append(el("p", "pocket-offer-text", creative.text));
    const why = el("details", "pocket-offer-why");
    why.append(el("summary", null, "Why this offer?"), el("p", null, decision.explain()));
    card.append(why);
    this.replaceChildren(card);
  }
}

if (!customElements.get("pocket-offer")) customElements.define("pocket-offer", PocketOffer);

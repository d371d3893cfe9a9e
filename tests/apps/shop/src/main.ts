// A shop page as a frontend developer writes it: the engine's API and the one-tag embed, from
// the package's entry points, type-checked under `strict` and built for production.
import { Catalog, Engine, PocketrankError } from "pocketrank";
import "pocketrank/pocket-offer.js";

// The site's own creative fields, declared once (the package's `Creative` is open for this).
declare module "pocketrank" {
  interface Creative {
    badge?: string;
  }
}

const slot = document.querySelector<HTMLElement>("#offer")!;
// No exploration: by default 1 decision in 100 shows a random eligible offer, which would make
// the test's "a baker sees the baking offer" fail now and then.
const engine = Engine.open({ namespace: "shop", exploration: 0 });
engine.record({ kind: "view", tags: ["category:baking"], item: "sku-flour" });
const catalog = Catalog.fromJson(await (await fetch("/offers.json")).text());
const decision = engine.choose(catalog, { slot: "home", context: ["category:baking"] });
if (decision) {
  slot.textContent = decision.creative?.title ?? decision.offerId;
  if (decision.creative?.badge) slot.title = decision.creative.badge;
  slot.dataset.offer = decision.offerId;
  slot.dataset.reason = decision.reason;
  slot.dataset.reported = String(await engine.report(decision, "/offers/report"));
}

try {
  Catalog.from({ version: 1, offers: [{ id: "bad id" }] });
} catch (e) {
  if (e instanceof PocketrankError) {
    slot.dataset.error = `${e.code} ${e.offer} ${e.field}`;
  }
}

const embed = document.querySelector("pocket-offer");
slot.dataset.embedDefined = String(customElements.get("pocket-offer") !== undefined && embed !== null);
document.body.dataset.ready = "1";

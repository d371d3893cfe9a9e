// What the types promise, checked by `tsc --strict` (never bundled): closed sets are unions,
// the creative is typed, errors are a class, the embed is typed. Each `@ts-expect-error`
// fails the check if the line it guards starts to compile (a union widened back to string).
import {
  Catalog,
  Engine,
  PocketrankError,
  type CatalogJson,
  type Decision,
  type DecisionReason,
  type EngineStatus,
  type ErrorCode,
  type EventKind,
  type LedgerView,
  type Mechanism,
  type StorageMode,
} from "pocketrank";
import { PocketOffer } from "pocketrank/pocket-offer.js";

function never(x: never): never {
  throw new Error(String(x));
}

export function reasonLabel(d: Decision): string {
  const r: DecisionReason = d.reason;
  switch (r) {
    case "personal": return "for you";
    case "explore": return "something new";
    case "fallback": return "for everyone";
    case "popular": return "popular";
    case "private": return "for you, privately";
    default: return never(r);
  }
}

export function storageLabel(s: EngineStatus): string {
  const m: StorageMode = s.storage;
  switch (m) {
    case "local": return "kept in this browser";
    case "memory": return "gone when the page closes";
    default: return never(m);
  }
}

export function guardLabel(s: EngineStatus): string {
  const code: ErrorCode | null = s.code;
  void code;
  const g = s.guard;
  switch (g) {
    case null: return "personal";
    case "privacy.catalog_too_small": return "catalog too small";
    case "privacy.too_many_catalogs": return "too many catalogs";
    case "privacy.budget_spent": return "budget spent";
    case "privacy.bits_spent": return "weekly bits spent";
    case "privacy.unrecorded": return "privacy record not stored";
    default: return never(g);
  }
}

export function mechanismLabel(l: LedgerView): string {
  const m: Mechanism = l.mechanism;
  switch (m) {
    case "exact": return "exact";
    case "noised": return "noised";
    case "private-choice": return "private choice";
    default: return never(m);
  }
}

export function kinds(k: EventKind): number {
  switch (k) {
    case "view": case "cart": case "purchase": case "search": case "click": case "dismiss": return 1;
    default: return never(k);
  }
}

export function codes(engine: Engine, catalog: Catalog): ErrorCode | null {
  // @ts-expect-error: "viewed" is not an event kind
  engine.record({ kind: "viewed", tags: ["category:x"] });
  // @ts-expect-error: feedback takes "click" or "dismiss" only
  engine.feedback("RUN-10", "view");
  // @ts-expect-error: unknown options are refused at run time and by the types
  Engine.inMemory({ seeed: 1 });
  const json: CatalogJson = { version: 1, offers: [{ id: "A", start: null, caps: { perDay: 3 } }] };
  void Catalog.from(json);
  void catalog.creative("A")?.title;
  try {
    Catalog.fromJson("{");
    return null;
  } catch (e) {
    if (!(e instanceof PocketrankError)) throw e;
    const limit: number | undefined = e.limit;
    void limit;
    return e.code;
  }
}

export function embed(): string | null {
  const el: PocketOffer | null = document.querySelector("pocket-offer");
  el?.addEventListener("pocket-offer-shown", (ev) => {
    const id: string = ev.detail.offerId;
    void id;
  });
  return el?.decision?.offerId ?? null;
}

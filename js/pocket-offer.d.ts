// Types of the one-tag embed, <pocket-offer>. Importing the module defines the element.
import type { Catalog, Decision } from "./pocketrank.js";

/**
 * `<pocket-offer catalog="/offers.json" report="/offers/report" placement="home">`: opens the
 * shopper's profile from `localStorage`, chooses an offer, renders its creative as text and
 * sends the report (the offer ID, nothing else). Attributes: `catalog`, `report`, `placement`,
 * `context` (comma-separated tags), `namespace`, `privacy` (the engine's privacy option as JSON).
 * While it works, `data-state` is `loading`, then `shown`, `empty` or `error` (`data-error`
 * holds the error's code).
 */
export declare class PocketOffer extends HTMLElement {
  /** The decision shown, once rendered. */
  decision: Decision | null;
  connectedCallback(): void | Promise<void>;
}

/**
 * The most distinct image URLs (64) a catalog's creatives may name for them to be loaded. Past
 * it, no URL image is loaded at all, never only some; `data:` images are still shown.
 */
export declare const MAX_CREATIVE_IMAGES: number;

/** What `preloadCreatives` did, once every image has loaded or failed. */
export interface CreativeImagesSummary {
  /** The distinct http(s) URLs fetched, in catalog order (none when over the limit). */
  urls: readonly string[];
  /** How many loaded, and how many failed (HTTP error, no CORS, not an image). */
  loaded: number;
  failed: number;
  /** The catalog named more than the limit: nothing was fetched. */
  overLimit: boolean;
}

/** The images of a catalog's creatives, loaded for every offer alike (see `preloadCreatives`). */
export interface CreativeImages {
  /** Resolves when every image has loaded or failed. */
  readonly done: Promise<CreativeImagesSummary>;
  /**
   * What an `<img>` can show for a creative's `image`: a `data:image/…` URL as it is, the
   * `blob:` URL of a loaded image, or null (never fetched, failed, or over the limit). Never
   * fetches anything.
   */
  src(image: unknown): Promise<string | null>;
  /**
   * An `<img alt="">` for a creative's `image` (56 × 56 unless told), or null when it names
   * nothing that can be shown. An image by URL takes its place at once, hidden, and shows when
   * loaded; it removes itself if it cannot be shown. Never fetches anything.
   */
  img(image: unknown, options?: { className?: string; width?: number; height?: number }): HTMLImageElement | null;
  /** Frees the loaded images (their `blob:` URLs stop working). */
  release(): void;
}

/**
 * For pages that render decisions themselves: starts loading the image of EVERY offer in the
 * catalog (a `Catalog`, or the catalog as a plain object) as soon as it is called, whatever the
 * profile holds, so that the network never learns which offer is shown. Each distinct absolute
 * http(s) URL of a creative's `image` is fetched once, with `credentials: "omit"`,
 * `referrerPolicy: "no-referrer"` and `mode: "cors"` (a host on another origin must send
 * `Access-Control-Allow-Origin`); shown images come from `blob:` URLs. More than
 * `MAX_CREATIVE_IMAGES` (or `options.limit`) distinct URLs: none is fetched. The catalog is
 * read in short tasks. The same catalog object gives the same `CreativeImages`.
 */
export declare function preloadCreatives(
  catalog: Catalog | { readonly offers: ReadonlyArray<{ readonly creative?: unknown }> } | null | undefined,
  options?: { limit?: number },
): CreativeImages;

/** Lets the browser run input, rendering and other tasks before the next step. */
export declare function yieldToPage(): Promise<void>;

/**
 * Runs `fn` in a task of its own (after yielding to the page), measured as the User Timing
 * entry `pocketrank:<name>`; resolves to what `fn` returns.
 */
export declare function step<T>(name: string, fn: () => T): Promise<Awaited<T>>;

/**
 * Loads and starts the engine once (the web build's `init()` included, and a warm-up of the
 * lazily compiled Wasm in short tasks); resolves to the package's module, ready to use.
 */
export declare function start(): Promise<typeof import("./pocketrank.js")>;

/** The detail of the `pocket-offer-shown` event. */
export interface PocketOfferShownDetail {
  offerId: string;
}

declare global {
  interface HTMLElementTagNameMap {
    "pocket-offer": PocketOffer;
  }
  interface HTMLElementEventMap {
    "pocket-offer-shown": CustomEvent<PocketOfferShownDetail>;
  }
}

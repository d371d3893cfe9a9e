// Types of the one-tag embed, <pocket-offer>. Importing the module defines the element.
import type { Decision } from "./pocketrank.js";

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

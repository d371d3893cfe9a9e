// A decision as a plain JavaScript object: the Wasm side fills it in one call and keeps
// nothing of it, so there is nothing to free and no finalizer (see src/wasm/mod.rs,
// `decision_of`). Its explanation and contributions are kept in a compact string and written
// out by the Wasm side only when a page asks for them.

let bodyOf;
// (detail, labels, 0 | 1) => the sentence (0) or the contributions (1); set once by
// the Wasm side before it makes its first decision.
let describe;

export function setDescribe(f) {
  describe = f;
}

export class Decision {
  // What a report of this decision sends (the offer ID, or with noised reports the ID the
  // mechanism drew). Private to this module so that it is not among the object's keys, in
  // JSON.stringify or in a copy; the page sees `offerId` anyway.
  #body;
  #creativeText;
  #creative;
  #detail;
  #labels;

  constructor(offerId, reason, score, body, creative, detail, labels) {
    this.offerId = offerId;
    this.reason = reason;
    this.score = score;
    this.#body = body ?? offerId;
    this.#creativeText = creative;
    this.#detail = detail;
    this.#labels = labels;
  }

  // The creative's JSON, parsed on first use.
  get creative() {
    if (this.#creative === undefined && this.#creativeText !== undefined) {
      this.#creative = { value: JSON.parse(this.#creativeText) };
    }
    return this.#creative?.value;
  }

  explain() {
    return describe(this.#detail, this.#labels, 0);
  }

  contributions() {
    return describe(this.#detail, undefined, 1);
  }

  // Nothing to free: kept so that code written for the Wasm-backed class still runs.
  free() {}

  static {
    bodyOf = (d) => (d !== null && typeof d === "object" && #body in d ? d.#body : undefined);
  }
}

if (Symbol.dispose) Decision.prototype[Symbol.dispose] = Decision.prototype.free;

// The report body of a decision made by this module, or undefined for any other value.
export function reportBody(d) {
  return bodyOf(d);
}

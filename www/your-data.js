// The shopper's "Your data" page: what the profile holds, and the controls over it.
// Everything from the profile is inserted as text (textContent / setAttribute), never as HTML.
import { boot, run, el, markReady, checkSensitive } from "/shop.js";

const SVG = "http://www.w3.org/2000/svg";
const $ = (id) => document.getElementById(id);

// Created on first use (locale data is slow to load on a phone), not while the page starts.
let dateFormat;
const formatDate = (ms) => {
  if (!Number.isFinite(ms)) return "never";
  dateFormat ??= new Intl.DateTimeFormat(undefined, { year: "numeric", month: "short", day: "numeric" });
  return dateFormat.format(new Date(ms));
};

const EVENT_WORDS = [
  ["view", "view", "views"],
  ["search", "search", "searches"],
  ["cart", "add to cart", "adds to cart"],
  ["purchase", "purchase", "purchases"],
  ["click", "click", "clicks"],
  ["dismiss", "dismissal", "dismissals"],
];
const count = (n, one, many) => `${n} ${n === 1 ? one : many}`;

function describeEvents(events = {}) {
  const parts = EVENT_WORDS.filter(([k]) => events[k] > 0).map(([k, one, many]) => count(events[k], one, many));
  return parts.length ? parts.join(", ") : "no events";
}

function formatBytes(n) {
  if (!Number.isFinite(n)) return "unknown";
  return n < 1024 ? `${n} bytes` : `${(n / 1024).toFixed(1)} KB`;
}

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  node.append(...children);
  return node;
}

const shorten = (s, n) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/**
 * A hand-made horizontal bar chart of the heaviest interests, and its text alternative: a table
 * with the same labels and figures (the drawing itself is hidden from assistive technology).
 */
function renderChart(chart, interests) {
  chart.replaceChildren();
  const rows = interests.slice(0, 12);
  const figure = $("chart-figure");
  $("chart-table").tBodies[0].replaceChildren(
    ...rows.map((i) => el("tr", { attrs: { "data-tag": i.tag } },
      el("th", { text: i.label || i.tag, attrs: { scope: "row" } }),
      el("td", { text: i.weight.toFixed(2) }),
    )),
  );
  figure.hidden = !rows.length;
  if (!rows.length) {
    chart.setAttribute("hidden", "");
    chart.style.display = "none";
    return;
  }
  chart.removeAttribute("hidden");
  chart.style.display = "";
  // Labels and figures are HTML text (their contrast can be checked, they wrap and zoom like
  // text); each bar is a one-rectangle SVG scaled to the heaviest interest.
  const max = Math.max(...rows.map((i) => i.weight), 1e-9);
  for (const interest of rows) {
    const share = Math.max(1, (100 * interest.weight) / max);
    const bar = svg("svg", { class: "bar-track", viewBox: "0 0 100 10", preserveAspectRatio: "none", focusable: "false" },
      svg("rect", { class: "bar", x: 0, y: 0, width: share.toFixed(1), height: 10, rx: 1.5 }));
    chart.append(el("div", { className: "chart-row", attrs: { "data-tag": interest.tag } },
      // Shortened for the eye; the full label is its title (and the table's row header).
      el("span", { className: "bar-label", text: shorten(interest.label || interest.tag, 26), attrs: { title: interest.label || interest.tag } }),
      bar,
      el("span", { className: "bar-value", text: interest.weight.toFixed(2) }),
    ));
  }
}

const formatEpsilon = (e) => (Number.isInteger(e) ? String(e) : e.toFixed(2));

/**
 * What the shop receives, the budget, the guards, the ledger and the sensitive list;
 * `onRemove(ns)` takes a group out of the shopper's own list.
 */
function renderPrivacy(privacy, onRemove) {
  const mode = $("privacy-mode");
  const eps = privacy.epsilon == null ? "" : formatEpsilon(privacy.epsilon);
  const budget = privacy.budgetPerWeek == null ? "" : formatEpsilon(privacy.budgetPerWeek);
  mode.dataset.mode = privacy.mode;
  if (privacy.mode === "noised") {
    mode.textContent = `This shop uses noised reports: when an offer is shown, the page sends the shop one offer ID, which is the offer shown to you only with some probability and otherwise another offer of the catalog drawn at random (ε = ${eps} per report, at most ${budget} per week). The shop can still count offers over many shoppers, but no single report says which offer you saw.`;
  } else if (privacy.mode === "private-choice") {
    mode.textContent = `This shop uses private choice: the offer you see is drawn with deliberate randomness that favors your interests only a little (ε = ${eps} per offer shown, at most ${budget} per week), and the page sends the shop the ID of that offer.`;
  } else {
    mode.textContent = "When an offer is shown, the page sends the shop only the ID of that offer, exactly (for example WELCOME-5), so it can count how often each offer is shown.";
  }
  const left = $("budget");
  if (privacy.remaining == null && privacy.bitsPerWeek != null) {
    // Exact reports: the weekly bound, in bits, on what the offer IDs sent can say about you.
    left.hidden = false;
    left.dataset.bitsRemaining = String(privacy.bitsRemaining);
    const bound = formatEpsilon(privacy.bitsPerWeek);
    const frees = privacy.bitsRemaining < privacy.bitsPerWeek && privacy.bitsFreeAt != null ? ` Some of it comes back on ${formatDate(privacy.bitsFreeAt)}.` : "";
    left.textContent = privacy.bitsRemaining > 0
      ? `What the offer IDs sent this week can say about your interests is limited to ${bound} bits; ${formatEpsilon(privacy.bitsRemaining)} bits are left (about one yes-or-no question each). A page asked again gets the same answer, which says nothing new.${frees}`
      : `This week's limit of ${bound} bits is reached: new offers are chosen without your profile until it comes back.${frees}`;
  } else if (privacy.remaining == null) {
    left.hidden = true;
  } else {
    left.hidden = false;
    left.dataset.remaining = String(privacy.remaining);
    const frees = privacy.remaining < privacy.budgetPerWeek && privacy.freesAt != null ? ` Some of it comes back on ${formatDate(privacy.freesAt)}.` : "";
    left.textContent = privacy.remaining > 0
      ? `Privacy budget left this week: ${formatEpsilon(privacy.remaining)} of ${budget}.${frees}`
      : `This week's privacy budget is spent: nothing more is sent until it comes back.${frees}`;
  }
  $("guards").textContent = `Offers are personal only in catalogs of at least ${privacy.minOffers} offers, and in at most ${privacy.catalogsPerWeek} different catalogs a week (${privacy.catalogsThisWeek} so far), so that a shop cannot ask your profile endless questions.`;

  $("ledger").replaceChildren(
    ...privacy.ledger.map((r) => {
      const how = r.mechanism === "exact" ? "the exact offer ID" : r.mechanism === "noised" ? `noised, ε ${formatEpsilon(r.epsilon)}` : "privately chosen offer";
      return el("li", { attrs: { "data-body": r.body, "data-mechanism": r.mechanism } },
        el("div", { className: "what" },
          el("strong", { className: "body", text: r.body }),
          el("span", { className: "detail", text: `sent to ${r.endpoint} on ${new Date(r.time).toLocaleString()} · ${how}` }),
        ),
      );
    }),
  );
  $("ledger-empty").hidden = privacy.ledger.length > 0;

  const chip = (ns, who, removable) => {
    const li = el("li", { className: `chip ${who}`, attrs: { "data-namespace": ns, "data-who": who } }, el("span", { text: ns }));
    if (removable) {
      // The name is in words (hidden visually), the × is for the eye only.
      const remove = el("button", { className: "small remove", attrs: { type: "button", title: `Record ${ns} again` } },
        el("span", { text: "×", attrs: { "aria-hidden": "true" } }),
        el("span", { className: "visually-hidden", text: `Record ${ns} again` }),
      );
      remove.addEventListener("click", () => onRemove(ns));
      li.append(remove);
    }
    return li;
  };
  $("sensitive").replaceChildren(
    ...privacy.sensitiveDefaults.map((ns) => chip(ns, "default", false)),
    ...privacy.sensitiveSite.map((ns) => chip(ns, "site", false)),
    ...privacy.sensitiveShopper.map((ns) => chip(ns, "shopper", true)),
  );
}

/**
 * Where focus goes after the row at `index` of `list` was deleted: the same place in the list
 * (the next row's button, or the last row's when it was the last), or `fallback` when the
 * list is empty. Never the top of the page.
 */
function focusAfterDelete(list, index, buttonSelector, fallback) {
  const buttons = [...list.querySelectorAll(buttonSelector)];
  const target = buttons[Math.min(index, buttons.length - 1)] ?? fallback;
  target?.focus();
}

// The never-record rule is the engine's own (checkSensitive, the function Engine.addSensitive
// applies: trimmed, lowercased, 1–64 characters of a-z 0-9 . _ -): the field is validated with
// it as the shopper types (setCustomValidity), so the field and the engine cannot disagree.
const RULE_TEXT = "Use 1 to 64 letters, digits, dots, dashes or underscores, without spaces.";
const sensitiveProblem = (value) => {
  if (value === "") return "Type the group of topics to leave out, for example brand.";
  try {
    checkSensitive(value);
    return null;
  } catch {
    return RULE_TEXT;
  }
};

// "Delete everything" deletes at once and completely (storage included). For UNDO_MS the page
// can put it back: it keeps a copy of the export, and the shopper's own never-record groups, in
// this page's memory only (a variable: never in storage, never sent). A countdown next to Undo
// shows the time left; it runs whatever has focus (it does not stop on the Undo button: the copy
// of deleted data must not outlive the time the message promises). The copy is dropped when the
// time is up, when the shopper undoes, or when the page is left (pagehide, which also covers the
// back-forward cache).
const UNDO_MS = 10_000;

run(async () => {
  const { engine, catalog, byId } = await boot();
  const message = $("message");
  const say = (text) => (message.textContent = text);
  const removeSensitive = (ns) => {
    const index = [...$("sensitive").querySelectorAll("button.remove")].findIndex((b) => b.closest("li")?.dataset.namespace === ns);
    engine.removeSensitive(ns);
    render();
    say(`Topics in “${ns}” may be recorded again.`);
    focusAfterDelete($("sensitive"), Math.max(0, index), "button.remove", $("sensitive-input"));
  };

  $("key-prefix").textContent = `pocketrank:${engine.namespace}:`;

  function renderWhy(paused) {
    const panel = $("why-panel");
    let decision;
    try {
      // A preview: nothing is counted as shown, nothing is sent.
      decision = catalog ? engine.choose(catalog, { slot: "home", preview: true }) : undefined;
    } catch (e) {
      console.warn("pocketrank choose:", e?.code, e?.message);
    }
    panel.hidden = !decision;
    if (!decision) return;
    const creative = decision.creative && typeof decision.creative === "object" ? decision.creative : {};
    const title = typeof creative.title === "string" ? creative.title : decision.offerId;
    const verb = decision.reason === "private" || decision.reason === "explore" ? "could show you" : "would show you";
    $("why-now").replaceChildren(
      `Right now the home page ${verb} “${title}”${paused ? " (personalization is paused)" : ""}. `,
      el("span", { className: "why-sentence", text: decision.explain(), attrs: { "data-offer-id": decision.offerId } }),
    );
  }

  function render() {
    const profile = engine.profile();
    const status = engine.status();

    // Status.
    $("status-storage").textContent =
      status.storage === "local" ? "This browser (localStorage)" : "Memory only: nothing is saved";
    $("status-paused").textContent = profile.paused ? "Paused" : "On";
    $("status-bytes").textContent = formatBytes(status.storedBytes);
    const details = [];
    if (status.storage !== "local" && status.reason) details.push(status.reason);
    if (status.newerVersionStored) details.push("A newer version of the shop saved data here; it is left untouched.");
    if (status.quarantined?.length) details.push("We found unreadable saved data and set it aside.");
    $("status-detail").textContent = details.join(" ");
    $("status-detail").hidden = details.length === 0;
    const pause = $("pause");
    // One pattern: the name says what the button does (Pause or Resume); no aria-pressed, which
    // would be read as "Resume personalization, pressed".
    pause.textContent = profile.paused ? "Resume personalization" : "Pause personalization";

    renderPrivacy(engine.privacy(), removeSensitive);
    renderWhy(profile.paused);

    // Interests.
    renderChart($("chart"), profile.interests);
    $("interests").replaceChildren(
      ...profile.interests.map((interest, index) => {
        const name = interest.label || interest.tag;
        const remove = el("button", { className: "danger small forget", text: "Delete", attrs: { type: "button", "aria-label": `Delete interest ${name}` } });
        remove.addEventListener("click", () => {
          engine.forget(interest.tag);
          render();
          say(`Deleted “${name}”.`);
          focusAfterDelete($("interests"), index, "button.forget", $("interests-title"));
        });
        return el("li", { attrs: { "data-tag": interest.tag } },
          el("div", { className: "what" },
            el("strong", { className: "label", text: name }),
            el("span", { className: "detail" },
              el("span", { className: "weight", text: `weight ${interest.weight.toFixed(2)}` }), " · ",
              el("span", { className: "events", text: describeEvents(interest.events) }), " · ",
              el("span", { className: "last-seen", text: `last seen ${formatDate(interest.lastSeen)}` }),
            ),
            el("span", { className: "detail tag", text: interest.tag }),
          ),
          remove,
        );
      }),
    );
    let empty = $("empty");
    if (!profile.interests.length && !empty) {
      empty = el("p", { className: "muted", text: "Nothing recorded yet.", attrs: { id: "empty" } });
      $("interests").after(empty);
    } else if (profile.interests.length && empty) {
      empty.remove();
    }

    // Items.
    $("items").replaceChildren(
      ...profile.items.map((it, index) => {
        const product = byId.get(it.item);
        const name = product?.name ?? it.item;
        const parts = [
          it.views && count(it.views, "view", "views"),
          it.carts && count(it.carts, "add to cart", "adds to cart"),
          it.purchases && count(it.purchases, "purchase", "purchases"),
        ].filter(Boolean);
        const remove = el("button", { className: "danger small forget-item", text: "Delete", attrs: { type: "button", "aria-label": `Delete ${name}` } });
        remove.addEventListener("click", () => {
          engine.forgetItem(it.item);
          render();
          say(`Deleted “${name}”.`);
          focusAfterDelete($("items"), index, "button.forget-item", $("items-title"));
        });
        return el("li", { attrs: { "data-item": it.item } },
          el("div", { className: "what" },
            el("strong", { text: name }),
            el("span", { className: "detail", text: `${parts.join(", ") || "no events"} · last seen ${formatDate(it.lastSeen)}` }),
          ),
          remove,
        );
      }),
    );
    $("items-empty").hidden = profile.items.length > 0;

    // Offers.
    $("offers-seen").replaceChildren(
      ...profile.offers.map((o) => {
        let title = null;
        try {
          const c = catalog?.creative(o.offer);
          if (c && typeof c.title === "string") title = c.title;
        } catch {
          // Not in this catalog any more.
        }
        const parts = [
          `shown ${count(o.shown, "time", "times")}`,
          o.lastShown != null && `last on ${formatDate(o.lastShown)}`,
          o.clicks > 0 && count(o.clicks, "click", "clicks"),
          o.dismissed != null && `dismissed on ${formatDate(o.dismissed)}`,
        ].filter(Boolean);
        return el("li", { attrs: { "data-offer": o.offer } },
          el("div", { className: "what" },
            el("strong", { text: title ?? o.offer }),
            el("span", { className: "detail", text: `${o.offer} · ${parts.join(", ")}` }),
          ),
        );
      }),
    );
    $("offers-empty").hidden = profile.offers.length > 0;

    markReady();
  }

  // The never-record form: the engine's rule, checked as the shopper types; an error is tied to
  // the field (aria-invalid, aria-describedby), announced (the error line is a role="alert" live
  // region, present and empty until there is an error), and focus stays on the field.
  const input = $("sensitive-input");
  const error = $("sensitive-error");
  const validate = () => {
    const problem = sensitiveProblem(input.value);
    input.setCustomValidity(problem ?? "");
    return problem;
  };
  const showError = (text) => {
    if (error.textContent !== text) error.textContent = text;
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", "sensitive-error sensitive-hint");
    input.focus();
  };
  const clearError = () => {
    error.textContent = "";
    input.removeAttribute("aria-invalid");
    input.setAttribute("aria-describedby", "sensitive-hint");
  };
  input.addEventListener("input", () => {
    const problem = validate();
    if (input.getAttribute("aria-invalid") === "true" && !problem) clearError();
  });
  validate();
  $("sensitive-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const problem = validate();
    if (problem) {
      showError(problem);
      return;
    }
    const ns = input.value.trim().toLowerCase();
    try {
      const added = engine.addSensitive(ns);
      input.value = "";
      validate();
      clearError();
      say(added ? `Topics in “${ns}” will never be recorded, and what was recorded is deleted.` : `“${ns}” is already never recorded.`);
    } catch (e) {
      // The engine applies the same rule: this is only reached if the two ever disagree.
      showError(e?.code === "OPTIONS_INVALID" && e?.field === "sensitive" && /at most/.test(e?.message ?? "") ? "You have added as many groups as can be kept; remove one first." : RULE_TEXT);
      console.warn("pocketrank addSensitive:", e?.code, e?.message);
    }
    render();
  });

  $("pause").addEventListener("click", () => {
    if (engine.paused) {
      engine.resume();
      say("Personalization is on again.");
    } else {
      engine.pause();
      say("Personalization is paused: nothing new is recorded, and offers are not personal.");
    }
    render();
  });

  // Undo of "Delete everything" (see UNDO_MS above).
  const undo = $("undo");
  const undoLeft = $("undo-left");
  const DELETED = "Everything this shop remembered about you is deleted.";
  let kept = null;
  let deadline = 0;
  let ticker = 0;
  const showLeft = () => {
    const left = Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
    undoLeft.textContent = `${left} ${left === 1 ? "second" : "seconds"} left to undo`;
    return left;
  };
  // Drops the copy and the Undo button; focus, if it was on Undo, goes to "Delete everything"
  // (the control the shopper came from), never to the top of the page.
  const forgetCopy = () => {
    kept = null;
    clearInterval(ticker);
    const hadFocus = document.activeElement === undo;
    undo.hidden = true;
    undoLeft.hidden = true;
    undoLeft.textContent = "";
    if (hadFocus) $("clear").focus();
  };
  const tick = () => {
    if (!kept) return;
    if (showLeft() > 0) return;
    forgetCopy();
    say(`${DELETED} It can no longer be undone.`);
  };
  // Leaving the page (for good or into the back-forward cache) drops the copy at once, and the
  // message stops offering an undo that is no longer there, also when the page comes back.
  const leave = () => {
    if (!kept && undo.hidden) return;
    forgetCopy();
    say(DELETED);
  };
  addEventListener("pagehide", leave);
  addEventListener("pageshow", (event) => { if (event.persisted) leave(); });

  $("clear").addEventListener("click", () => {
    let copy = null;
    try {
      copy = { profile: engine.export(), sensitive: [...engine.privacy().sensitiveShopper] };
    } catch (e) {
      console.warn("pocketrank export:", e?.code, e?.message);
    }
    try {
      engine.clear();
    } catch (e) {
      say("Sorry, your data could not be deleted.");
      console.warn("pocketrank clear:", e?.code, e?.message);
      render();
      return;
    }
    render();
    clearInterval(ticker);
    kept = copy;
    if (kept) {
      say(`${DELETED} You can undo this for ${UNDO_MS / 1000} seconds.`);
      deadline = Date.now() + UNDO_MS;
      showLeft();
      undoLeft.hidden = false;
      undo.hidden = false;
      ticker = setInterval(tick, 1000);
      undo.focus();
    } else {
      say(DELETED);
      $("clear").focus();
    }
  });

  undo.addEventListener("click", () => {
    const copy = kept;
    kept = null;
    if (!copy) return;
    try {
      engine.import(copy.profile);
      for (const ns of copy.sensitive) engine.addSensitive(ns);
      say("Your data is back, as it was before you deleted it (except the list of what was sent).");
    } catch (e) {
      say("Sorry, your data could not be put back.");
      console.warn("pocketrank import:", e?.code, e?.message);
    }
    forgetCopy();
    render();
    $("clear").focus();
  });

  $("export").addEventListener("click", () => {
    const blob = new Blob([engine.export()], { type: "application/json" });
    const url = URL.createObjectURL(blob);
    const a = el("a", { attrs: { href: url, download: "pocketrank-profile.json", hidden: "" } });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
    say("Your data was downloaded as pocketrank-profile.json.");
  });

  render();
});

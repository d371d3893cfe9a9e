// The shopper's "Your data" page: what the profile holds, and the controls over it.
// Everything from the profile is inserted as text (textContent / setAttribute), never as HTML.
import { boot, run, el, markReady } from "/shop.js";

const SVG = "http://www.w3.org/2000/svg";
const $ = (id) => document.getElementById(id);

const dateFormat = new Intl.DateTimeFormat(undefined, { year: "numeric", month: "short", day: "numeric" });
const formatDate = (ms) => (Number.isFinite(ms) ? dateFormat.format(new Date(ms)) : "never");

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

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = String(text);
  return node;
}

const shorten = (s, n) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/** A hand-made horizontal bar chart of the heaviest interests. */
function renderChart(chart, interests) {
  chart.replaceChildren();
  const rows = interests.slice(0, 12);
  if (!rows.length) {
    chart.setAttribute("hidden", "");
    chart.style.display = "none";
    return;
  }
  chart.removeAttribute("hidden");
  chart.style.display = "";
  const width = 640;
  const rowHeight = 30;
  const labelWidth = 190;
  const valueWidth = 56;
  const height = rows.length * rowHeight + 8;
  const max = Math.max(...rows.map((i) => i.weight), 1e-9);
  chart.setAttribute("viewBox", `0 0 ${width} ${height}`);
  chart.setAttribute("width", width);
  chart.setAttribute("height", height);
  chart.append(svg("title", {}, "Your interests by weight"));
  rows.forEach((interest, i) => {
    const y = i * rowHeight + 4;
    const barWidth = Math.max(2, ((width - labelWidth - valueWidth) * interest.weight) / max);
    const row = svg("g", { "data-tag": interest.tag });
    row.append(
      svg("title", {}, `${interest.label} (${interest.tag}): ${interest.weight.toFixed(2)}`),
      svg("text", { class: "bar-label", x: labelWidth - 10, y: y + 17, "text-anchor": "end" }, shorten(interest.label || interest.tag, 26)),
      svg("rect", { class: "bar", x: labelWidth, y: y + 3, width: barWidth.toFixed(1), height: rowHeight - 10, rx: 4 }),
      svg("text", { class: "bar-value", x: labelWidth + barWidth + 6, y: y + 17 }, interest.weight.toFixed(2)),
    );
    chart.append(row);
  });
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
  if (privacy.remaining == null) {
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
      const remove = el("button", { className: "small remove", text: "×", attrs: { type: "button", "aria-label": `Record ${ns} again` } });
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

run(async () => {
  const { engine, catalog, byId } = await boot();
  const message = $("message");
  const say = (text) => (message.textContent = text);
  const removeSensitive = (ns) => {
    engine.removeSensitive(ns);
    render();
    say(`Topics in “${ns}” may be recorded again.`);
  };

  $("key-prefix").textContent = `pocketrank:${engine.namespace}:`;

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
    pause.textContent = profile.paused ? "Resume personalization" : "Pause personalization";
    pause.setAttribute("aria-pressed", String(profile.paused));

    renderPrivacy(engine.privacy(), removeSensitive);

    // Interests.
    renderChart($("chart"), profile.interests);
    $("interests").replaceChildren(
      ...profile.interests.map((interest) => {
        const name = interest.label || interest.tag;
        const remove = el("button", { className: "danger small forget", text: "Delete", attrs: { type: "button", "aria-label": `Delete interest ${name}` } });
        remove.addEventListener("click", () => {
          engine.forget(interest.tag);
          render();
          say(`Deleted “${name}”.`);
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
      ...profile.items.map((it) => {
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

  $("sensitive-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = $("sensitive-input");
    const ns = input.value.trim().toLowerCase();
    try {
      const added = engine.addSensitive(ns);
      input.value = "";
      say(added ? `Topics in “${ns}” will never be recorded, and what was recorded is deleted.` : `“${ns}” is already never recorded.`);
    } catch (e) {
      say(`“${ns}” cannot be added: use letters, digits, dots, dashes or underscores.`);
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

  $("clear").addEventListener("click", () => {
    try {
      engine.clear();
      say("Everything this shop remembered about you is deleted.");
    } catch (e) {
      say("Sorry, your data could not be deleted.");
      console.warn("pocketrank clear:", e?.code, e?.message);
    }
    render();
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

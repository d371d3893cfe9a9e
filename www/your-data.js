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

run(async () => {
  const { engine, catalog, byId } = await boot();
  const message = $("message");
  const say = (text) => (message.textContent = text);

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

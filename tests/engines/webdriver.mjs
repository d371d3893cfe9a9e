// Plain W3C WebDriver over HTTP, from Node.js, for the engines Playwright cannot drive here
// (its own Firefox and WebKit builds are downloads): Firefox ESR through geckodriver (built from
// source by scripts/setup) and WebKitGTK, Safari's engine, through Debian's WebKitWebDriver and
// its MiniBrowser, which has no headless mode and so runs on a private Xvfb display.
//
//   const b = await launch("firefox");      // or "webkit"
//   await b.visit(url, "body[data-ready='1']");
//   const title = await b.execute(() => document.title);
//   await b.quit();
//
// Everything stays on the machine: the drivers listen on 127.0.0.1, and the browser's proxy is
// a local socket that accepts nothing, so that a request to any host but 127.0.0.1 fails at
// once instead of leaving (what it fenced off is in `b.fenced`).
import { spawn } from "node:child_process";
import { createServer } from "node:net";

export const ENGINES = {
  firefox: {
    name: "Firefox ESR",
    driver: process.env.GECKODRIVER ?? "geckodriver",
    driverArgs: (port) => ["--host", "127.0.0.1", "--port", String(port)],
    display: false,
    /** The session's capabilities, `fence` the proxy that drops what is bound elsewhere. */
    capabilities: (fence) => ({
      browserName: "firefox",
      proxy: { proxyType: "manual", httpProxy: fence, sslProxy: fence, noProxy: ["127.0.0.1"] },
      "moz:firefoxOptions": {
        binary: process.env.FIREFOX ?? "/usr/bin/firefox-esr",
        args: ["-headless"],
        // Firefox's own background traffic (captive portal check, telemetry) is off; what is
        // left meets the fence (Firefox 153 still asks its remote settings server, about 280
        // times in a run, whatever the prefs).
        prefs: {
          "network.captive-portal-service.enabled": false,
          "network.connectivity-service.enabled": false,
          "datareporting.policy.dataSubmissionEnabled": false,
          "toolkit.telemetry.enabled": false,
          "browser.safebrowsing.update.enabled": false,
          "app.update.disabledForTesting": true,
        },
      },
    }),
  },
  webkit: {
    name: "WebKitGTK (MiniBrowser)",
    driver: process.env.WEBKITWEBDRIVER ?? "WebKitWebDriver",
    driverArgs: (port) => [`--port=${port}`],
    display: true,
    // The fence is MiniBrowser's own --proxy: WebKitGTK 2.50 crashes at start about one time in
    // five when a `proxy` capability has `noProxy` (in webkit_network_proxy_settings_new,
    // reading past the host list), and the driver then never answers the new session.
    capabilities: (fence) => ({
      browserName: "MiniBrowser",
      "webkitgtk:browserOptions": {
        binary: process.env.MINIBROWSER ?? "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser",
        args: ["--automation", `--proxy=http://${fence}`, "--ignore-host=127.0.0.1"],
      },
    }),
  },
};

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A free TCP port on 127.0.0.1 (for a driver, a proxy or a server started by a test). */
export function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once("error", fail);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

/** A private X display for a browser without a headless mode: { display, stop }. */
async function startXvfb() {
  const x = spawn("Xvfb", ["-displayfd", "3", "-nolisten", "tcp", "-screen", "0", "1280x1024x24"], {
    stdio: ["ignore", "ignore", "pipe", "pipe"],
  });
  let stderr = "";
  x.stderr.on("data", (d) => { stderr += d; });
  const display = await new Promise((ok, fail) => {
    let out = "";
    x.stdio[3].on("data", (d) => {
      out += d;
      if (out.includes("\n")) ok(`:${out.trim()}`);
    });
    x.once("error", (e) => fail(new Error(`Xvfb could not start (${e.message}): scripts/setup installs it`)));
    x.once("exit", (code) => fail(new Error(`Xvfb exited (${code}): ${stderr}`)));
  });
  return { display, stop: () => stopProcess(x) };
}

function stopProcess(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((done) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
    child.once("exit", () => { clearTimeout(timer); done(); });
    child.kill("SIGTERM");
  });
}

/** A local socket that takes the browser's proxied connections and drops them. */
async function startFence() {
  const fenced = [];
  const server = createServer((socket) => {
    socket.once("data", (d) => {
      fenced.push(String(d).split("\r\n")[0]);
      socket.destroy();
    });
    socket.on("error", () => {});
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  return { port: server.address().port, fenced, stop: () => new Promise((r) => server.close(r)) };
}

async function call(base, method, path, body, timeoutMs = 120_000) {
  const res = await fetch(base + path, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json; charset=utf-8" },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  }).catch((e) => {
    throw new Error(`WebDriver ${method} ${path}: ${e.name === "TimeoutError" ? `no answer in ${timeoutMs} ms` : e.message}`);
  });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`WebDriver ${method} ${path}: HTTP ${res.status}, not JSON: ${text.slice(0, 300)}`);
  }
  if (!res.ok || (json.value && typeof json.value === "object" && "error" in json.value && json.value.error)) {
    const v = json.value ?? {};
    throw new Error(`WebDriver ${method} ${path}: ${v.error ?? res.status}: ${v.message ?? text.slice(0, 300)}`);
  }
  return json.value;
}

/** The body of a function (or a string of statements) as a WebDriver script. */
function scriptOf(fn) {
  return typeof fn === "function" ? `return (${fn}).apply(null, arguments);` : fn;
}

/**
 * Starts the engine's WebDriver and a session in a fresh browser profile. Resolves to a
 * handle: { engine, name, capabilities, fenced, visit, execute, executeAsync, waitFor, quit }.
 */
export async function launch(engine, { timeoutMs = 30_000 } = {}) {
  const spec = ENGINES[engine];
  if (!spec) throw new Error(`unknown engine ${engine}: ${Object.keys(ENGINES).join(", ")}`);
  const cleanup = [];
  const stopAll = async () => { while (cleanup.length) await cleanup.pop()().catch(() => {}); };
  try {
    const env = { ...process.env };
    if (spec.display) {
      const x = await startXvfb();
      cleanup.push(x.stop);
      env.DISPLAY = x.display;
    }
    const fence = await startFence();
    cleanup.push(fence.stop);

    const port = await freePort();
    const driver = spawn(spec.driver, spec.driverArgs(port), { env, stdio: ["ignore", "pipe", "pipe"] });
    let driverLog = "";
    const keep = (d) => { driverLog = (driverLog + d).slice(-20_000); };
    driver.stdout.on("data", keep);
    driver.stderr.on("data", keep);
    const spawned = new Promise((_, fail) => {
      driver.once("error", (e) => fail(new Error(`${spec.driver} could not start (${e.message}): scripts/setup installs it`)));
    });
    spawned.catch(() => {});
    cleanup.push(() => stopProcess(driver));
    const base = `http://127.0.0.1:${port}`;
    const started = Date.now();
    for (;;) {
      const ready = await Promise.race([
        fetch(base + "/status").then((r) => r.ok, () => false),
        spawned,
      ]);
      if (ready) break;
      if (driver.exitCode !== null) throw new Error(`${spec.driver} exited (${driver.exitCode}): ${driverLog}`);
      if (Date.now() - started > timeoutMs) throw new Error(`${spec.driver} did not answer in ${timeoutMs} ms: ${driverLog}`);
      await sleep(100);
    }

    const capabilities = spec.capabilities(`127.0.0.1:${fence.port}`);
    const session = await call(base, "POST", "/session", { capabilities: { alwaysMatch: capabilities } }, timeoutMs).catch((e) => {
      throw new Error(`${e.message}\n${spec.driver} said: ${driverLog}`);
    });
    const path = `/session/${session.sessionId}`;
    cleanup.push(() => call(base, "DELETE", path));
    await call(base, "POST", `${path}/timeouts`, { script: timeoutMs, pageLoad: timeoutMs });

    const execute = (fn, ...args) => call(base, "POST", `${path}/execute/sync`, { script: scriptOf(fn), args });
    const handle = {
      engine,
      name: spec.name,
      capabilities: session.capabilities,
      fenced: fence.fenced,
      get driverLog() { return driverLog; },
      /** Runs `fn` in the page; resolves to what it returns (JSON-clonable values). */
      execute,
      /** Runs `fn(...args, done)` in the page; resolves to what it passes to `done`. */
      executeAsync: (fn, ...args) => call(base, "POST", `${path}/execute/async`, { script: scriptOf(fn), args }),
      /** Polls `fn` in the page until it returns a truthy value, which it resolves to. */
      async waitFor(fn, { timeout = timeoutMs, what = String(fn) } = {}, ...args) {
        const until = Date.now() + timeout;
        for (;;) {
          const value = await execute(fn, ...args).catch(() => null);
          if (value) return value;
          if (Date.now() > until) throw new Error(`${spec.name}: timed out waiting for ${what}`);
          await sleep(100);
        }
      },
      /** Opens `url`, then waits for `selector` (a page that says it is done). */
      async visit(url, selector = "body[data-ready='1']") {
        await call(base, "POST", `${path}/url`, { url });
        if (selector) {
          await handle.waitFor((s) => document.querySelector(s) !== null, { what: `${selector} on ${url}` }, selector);
        }
      },
      /** Reloads the page (WebDriver's Refresh: the same URL, a new page load). */
      reload: () => call(base, "POST", `${path}/refresh`, {}),
      quit: stopAll,
    };
    return handle;
  } catch (e) {
    await stopAll();
    throw e;
  }
}

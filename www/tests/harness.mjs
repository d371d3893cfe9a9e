// Shared set-up of the end-to-end tests: the dev server on 127.0.0.1 (random port), and Debian's
// Chromium driven by playwright-core with a fresh profile, every address but 127.0.0.1 blocked,
// and every request recorded (method, URL, body, headers as sent).
import { mkdtemp, mkdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { startServer } from "../server.mjs";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const ARTIFACTS = join(ROOT, "artifacts");

export async function serve() {
  return startServer({ port: 0, quiet: true });
}

/**
 * A fresh browser profile: { context, requests, blocked, close }. `backForwardCache`: keep
 * Chromium's back-forward cache on (playwright turns it off by default), as a shopper has it.
 */
export async function browser({ backForwardCache = false } = {}) {
  const dir = await mkdtemp(join(tmpdir(), "pocketrank-e2e-"));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    acceptDownloads: true,
    ignoreDefaultArgs: backForwardCache ? ["--disable-back-forward-cache"] : [],
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-default-apps"],
  });
  const blocked = [];
  await context.route("**/*", (route) => {
    const url = new URL(route.request().url());
    if (url.protocol === "data:" || url.protocol === "blob:" || url.hostname === "127.0.0.1") return route.continue();
    blocked.push(url.href);
    return route.abort("blockedbyclient");
  });
  const requests = [];
  context.on("request", (req) => {
    const entry = { method: req.method(), url: req.url(), body: req.postData(), headers: null };
    requests.push(entry);
    req.allHeaders().then((h) => { entry.headers = h; }, () => {});
  });
  return {
    context,
    requests,
    blocked,
    async close() {
      await context.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Opens `path` and waits for the page to say it is done (body[data-ready="1"]). */
export async function visit(page, base, path) {
  await page.goto(new URL(path, base).href);
  await page.waitForSelector("body[data-ready='1']", { timeout: 20_000 });
}

export async function screenshot(page, name) {
  await mkdir(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, name), fullPage: true });
}

/** Every pocketrank key in the page's localStorage. */
export function pocketrankKeys(page) {
  return page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith("pocketrank:")).sort());
}

/** Lets pending request headers settle. */
export const settle = (ms = 300) => new Promise((r) => setTimeout(r, ms));

/** The browser script of {@link forgetAnswers}: removes every namespace's privacy record. */
export function dropPrivacyRecords() {
  for (const k of Object.keys(localStorage)) if (/^pocketrank:[^:]+:privacy$/.test(k)) localStorage.removeItem(k);
}

/**
 * Before a page is loaded again because its offer was explored (1% of first slots, by design):
 * with exact reports that pick is the page's answer, given again all week, so a reload alone
 * would show it again. Dropping the week's privacy record is what a new week does.
 */
export async function forgetAnswers(page) {
  await page.evaluate(dropPrivacyRecords);
}

// The package as frontend developers use it. The npm package (pkg-npm/, from scripts/build) is
// packed with `npm pack` and installed from its tarball, then:
//   - the shop app (tests/apps/shop) is type-checked by `tsc` under `strict` (the create-vite
//     template's config, and a stricter one that also checks the package's .d.ts with the lib
//     of an ES2022 app), built for production by Vite 8 (no config), Vite 7 (with the config
//     the README gives) and webpack 5 (with the config the README gives), and each build is
//     loaded in Debian's Chromium: the engine chooses, <pocket-offer> renders, the report
//     leaves with the offer ID only;
//   - Node.js scripts, ESM and CommonJS, are type-checked, compiled and run;
//   - every code block of the README is type-checked (TypeScript, and the module scripts of
//     HTML blocks), parsed (JSON; a catalog is validated by the package) or run (bundler configs).
// Tools come from tests/apps/node_modules (installed by scripts/setup from its lock file).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { cp, mkdir, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { fileURLToPath, pathToFileURL } from "node:url";
import { browser } from "../../www/tests/harness.mjs";
import { startServer } from "../../www/server.mjs";

const run = promisify(execFile);
const HERE = fileURLToPath(new URL(".", import.meta.url));
const ROOT = join(HERE, "..", "..");
const WORK = join(HERE, ".work");
const APP = join(WORK, "shop");
const TOOLS = join(HERE, "node_modules");
const TSC = join(TOOLS, ".bin", "tsc");
const README = await readFile(join(ROOT, "README.md"), "utf8");

/** The README's fenced code blocks: { lang, code, line }. */
function readmeBlocks() {
  const blocks = [];
  const re = /^```(\w*)\n([\s\S]*?)^```$/gm;
  for (let m; (m = re.exec(README)); ) {
    blocks.push({ lang: m[1], code: m[2], line: README.slice(0, m.index).split("\n").length });
  }
  return blocks;
}

/** The README's bundler config whose first line is `// <name>`. */
function readmeConfig(name) {
  const block = readmeBlocks().find((b) => b.code.startsWith(`// ${name}\n`));
  assert.ok(block, `the README has a block starting with "// ${name}"`);
  return block;
}

async function tsc(project) {
  try {
    await run(TSC, ["-p", project], { cwd: APP });
  } catch (e) {
    assert.fail(`tsc -p ${project} failed:\n${e.stdout}${e.stderr}`);
  }
}

before(async () => {
  assert.ok(existsSync(join(ROOT, "pkg-npm", "package.json")), "pkg-npm/ is built (scripts/build)");
  assert.ok(existsSync(TSC), "tests/apps/node_modules is installed (scripts/setup)");
  await rm(WORK, { recursive: true, force: true });
  await mkdir(join(WORK, "node_modules"), { recursive: true });
  await cp(join(HERE, "shop"), APP, { recursive: true });
  // `npm install <tarball>` of a package without dependencies: the tarball's package/ becomes
  // node_modules/pocketrank (done by hand so that the test never reaches a registry).
  const { stdout } = await run("npm", ["pack", "--json", "--pack-destination", WORK], { cwd: join(ROOT, "pkg-npm") });
  const tarball = join(WORK, JSON.parse(stdout)[0].filename);
  await run("tar", ["xzf", tarball, "-C", join(WORK, "node_modules")]);
  await run("mv", [join(WORK, "node_modules", "package"), join(WORK, "node_modules", "pocketrank")]);
});

after(async () => {
  await rm(WORK, { recursive: true, force: true });
});

test("the packed package has one name, an exports map for every entry point, and keeps the embed", async () => {
  const pkg = JSON.parse(await readFile(join(WORK, "node_modules", "pocketrank", "package.json"), "utf8"));
  assert.equal(pkg.name, "pocketrank");
  assert.ok(pkg.module && pkg.types && pkg.main, "module, types and main");
  for (const entry of [".", "./pocket-offer.js", "./web", "./web/pocket-offer.js"]) {
    assert.ok(pkg.exports[entry]?.types, `exports["${entry}"] has types`);
  }
  assert.ok(pkg.exports["."].node, "a node condition for Node.js");
  assert.ok(pkg.sideEffects.includes("./pocket-offer.js"), "sideEffects keeps the embed");
  const names = [];
  for (const dir of ["pkg", "pkg-bundler", "pkg-node"]) {
    names.push(JSON.parse(await readFile(join(ROOT, dir, "package.json"), "utf8")).name);
  }
  assert.equal(new Set([...names, pkg.name]).size, 4, `every build has its own name: ${names}`);
  for (const dts of ["pocketrank.d.ts", "web/pocketrank.d.ts", "node/pocketrank.d.cts", "pocket-offer.d.ts"]) {
    // Comments may say "any"; declarations may not.
    const text = (await readFile(join(WORK, "node_modules", "pocketrank", dts), "utf8"))
      .replace(/\/\*[\s\S]*?\*\//g, "")
      .replace(/\/\/.*$/gm, "");
    assert.doesNotMatch(text, /\bany\b/, `${dts} has no any`);
  }
});

test("the app type-checks under strict: the template's config, and with the package's .d.ts checked on an ES2022 lib", async () => {
  await tsc("tsconfig.json");
  await tsc("tsconfig.strict.json");
});

/** Vite's production build of the app; resolves to the warnings it logged. */
async function viteBuild(module, outDir, config = {}) {
  const { build, createLogger } = await import(pathToFileURL(join(TOOLS, module, "dist", "node", "index.js")).href);
  const logger = createLogger("warn", { allowClearScreen: false });
  const warnings = [];
  for (const level of ["warn", "warnOnce", "error"]) {
    const orig = logger[level].bind(logger);
    logger[level] = (msg, opts) => {
      warnings.push(msg);
      orig(msg, opts);
    };
  }
  await build({ ...config, root: APP, configFile: false, customLogger: logger, logLevel: "warn", build: { ...config.build, outDir } });
  return warnings;
}

/** Loads a production build in Chromium; resolves to what the page and the server saw. */
async function loadInChromium(dist) {
  const site = await startServer({ port: 0, quiet: true, www: dist, pkg: dist });
  const b = await browser();
  try {
    const page = await b.context.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(site.url);
    await page.waitForSelector("body[data-ready='1']", { timeout: 20_000 });
    const defined = await page.evaluate(() => customElements.get("pocket-offer") !== undefined);
    assert.ok(defined, "customElements.get('pocket-offer') is defined (the build kept the embed)");
    await page.waitForSelector("pocket-offer[data-state='shown'][data-reported]", { timeout: 20_000 });
    const seen = await page.evaluate(() => {
      const slot = document.querySelector("#offer");
      const embed = document.querySelector("pocket-offer");
      return {
        offer: slot.dataset.offer,
        reason: slot.dataset.reason,
        text: slot.textContent,
        error: slot.dataset.error,
        reported: slot.dataset.reported,
        defined: customElements.get("pocket-offer") !== undefined,
        embedOffer: embed.dataset.offerId,
        embedText: embed.querySelector(".pocket-offer-title")?.textContent ?? embed.textContent,
        embedReported: embed.dataset.reported,
      };
    });
    const reportRequests = b.requests.filter((r) => new URL(r.url).pathname === "/offers/report");
    return { seen, reports: site.reports.slice(), reportRequests, errors, blocked: b.blocked.slice() };
  } finally {
    await b.close();
    await site.close();
  }
}

async function assertShopWorks(dist) {
  const { seen, reports, reportRequests, errors, blocked } = await loadInChromium(dist);
  const catalog = JSON.parse(await readFile(join(APP, "public", "offers.json"), "utf8"));
  assert.deepEqual(errors, [], "no uncaught error on the page");
  assert.deepEqual(blocked, [], "nothing but 127.0.0.1 was asked for");
  assert.equal(seen.offer, "BAKE-5", "the engine chose the baking offer for a baker");
  assert.equal(seen.reason, "personal");
  assert.equal(seen.text, "Flour, 2 for 1", "the creative's title is rendered");
  assert.equal(seen.error, "catalog.invalid_id 0 id", "a bad catalog throws a PocketrankError with offer and field");
  assert.equal(seen.reported, "true");
  assert.ok(seen.defined, "customElements.get('pocket-offer') is defined");
  const embedOffer = catalog.offers.find((o) => o.id === seen.embedOffer);
  assert.ok(embedOffer, `the embed shows an offer of the catalog (${seen.embedOffer})`);
  assert.equal(seen.embedText, embedOffer.creative.title, "the embed renders the offer's title");
  assert.equal(seen.embedReported, "1");
  // Two reports (the page's and the embed's), each exactly an offer ID, nothing else.
  assert.deepEqual(reports.map((r) => r.body).sort(), [seen.offer, seen.embedOffer].sort());
  for (const r of reports) {
    assert.equal(r.query, "", "nothing added to the URL");
    assert.equal(r.cookie, null, "no cookie");
    assert.equal(r.referer, null, "no referrer");
  }
  assert.equal(reportRequests.length, 2);
  for (const r of reportRequests) {
    assert.equal(r.method, "POST");
    assert.ok(catalog.offers.some((o) => o.id === r.body), `the body is an offer ID: ${r.body}`);
  }
}

test("Vite 8 builds the app without a config and without a warning, and the build works in Chromium", async () => {
  const dist = join(APP, "dist-vite8");
  const warnings = await viteBuild("vite", dist);
  assert.deepEqual(warnings, [], "vite build logged no warning");
  const bundle = (await readdir(join(dist, "assets"))).filter((f) => f.endsWith(".js"));
  const code = (await Promise.all(bundle.map((f) => readFile(join(dist, "assets", f), "utf8")))).join("\n");
  assert.match(code, /customElements\.define\(/, "the embed module is in the production bundle");
  await assertShopWorks(dist);
});

test("Vite 7 builds the app with the README's config (vite-plugin-wasm), and the build works in Chromium", async () => {
  const block = readmeConfig("vite.config.js (Vite 7)");
  const configFile = join(APP, "vite7.config.mjs");
  // Written beside the app, so that its imports resolve from tests/apps/node_modules as an app's would.
  await writeFile(configFile, block.code);
  const config = (await import(pathToFileURL(configFile).href)).default;
  const dist = join(APP, "dist-vite7");
  const warnings = await viteBuild("vite7", dist, config);
  assert.deepEqual(warnings.filter((w) => !/chunks are larger than/.test(w)), [], "vite build logged no warning");
  await assertShopWorks(dist);
});

test("webpack 5 builds the app with the README's config, and the build works in Chromium", async () => {
  await tsc("tsconfig.webpack.json");
  const block = readmeConfig("webpack.config.js");
  const configFile = join(APP, "webpack.readme.config.mjs");
  await writeFile(configFile, block.code);
  const base = (await import(pathToFileURL(configFile).href)).default;
  const webpack = (await import(pathToFileURL(join(TOOLS, "webpack", "lib", "index.js")).href)).default;
  const dist = join(APP, "dist-webpack");
  const stats = await new Promise((ok, fail) =>
    webpack({ ...base, mode: "production", context: APP, entry: "./out/main.js", output: { path: dist, clean: true } }, (err, s) => (err ? fail(err) : ok(s))),
  );
  const info = stats.toJson({ all: false, errors: true, warnings: true });
  assert.deepEqual(info.errors.map((e) => e.message), [], "webpack reported no error");
  // webpack's performance hints (a .wasm over 244 KiB) are advice, not a problem of the package.
  const warnings = info.warnings.map((w) => w.message).filter((m) => !/^(asset size limit|entrypoint size limit|webpack performance recommendations)/.test(m));
  assert.deepEqual(warnings, [], "webpack reported no warning but its size hints");
  await cp(join(APP, "public", "offers.json"), join(dist, "offers.json"));
  const html = (await readFile(join(APP, "index.html"), "utf8")).replace('<script type="module" src="/src/main.ts"></script>', '<script src="/main.js"></script>');
  await writeFile(join(dist, "index.html"), html);
  await assertShopWorks(dist);
});

test("Node.js scripts, ES modules and CommonJS, type-check, compile and choose", async () => {
  await tsc("tsconfig.node.json");
  const catalog = join(APP, "public", "offers.json");
  const esm = JSON.parse((await run("node", [join(APP, "out-node", "esm.mjs"), catalog], { cwd: APP })).stdout);
  assert.deepEqual(esm, { offer: "SAIL-7", reason: "personal", code: "event.empty_tags" });
  const cjs = JSON.parse((await run("node", [join(APP, "out-node", "cjs.cjs"), catalog], { cwd: APP })).stdout);
  assert.deepEqual(cjs, { offer: "KNIT-3", reason: "personal", code: "catalog.invalid_json" });
});

test("every code block of the README type-checks, parses or runs", async () => {
  const blocks = readmeBlocks();
  const dir = join(APP, "readme");
  await mkdir(dir, { recursive: true });
  const { Catalog } = await import(pathToFileURL(join(WORK, "node_modules", "pocketrank", "node", "pocketrank.cjs")).href);
  let checked = 0;
  const files = [];
  for (const [i, b] of blocks.entries()) {
    const where = `README.md line ${b.line}`;
    if (b.lang === "ts") {
      files.push([`block${i}.ts`, b.code, where]);
    } else if (b.lang === "html") {
      // The module scripts of an HTML block, with the demo's /pkg/ paths as a site serves them.
      for (const m of b.code.matchAll(/<script type="module">([\s\S]*?)<\/script>/g)) {
        files.push([`block${i}.ts`, m[1].replaceAll('"/pkg/pocketrank.js"', '"pocketrank/web"'), where]);
      }
      for (const m of b.code.matchAll(/<script type="module" src="([^"]+)">/g)) {
        assert.ok(existsSync(join(ROOT, m[1].replace(/^\/pkg\//, "pkg/"))), `${where}: ${m[1]} is built`);
        checked++;
      }
    } else if (b.lang === "json") {
      const value = JSON.parse(b.code);
      if (value.version === 1 && Array.isArray(value.offers)) Catalog.fromJson(b.code);
      checked++;
    } else if (b.lang === "js") {
      files.push([`block${i}.mjs`, b.code, where]);
    }
  }
  for (const [name, code] of files) await writeFile(join(dir, name), code);
  await writeFile(join(dir, "tsconfig.json"), JSON.stringify({
    extends: "../tsconfig.strict.json",
    compilerOptions: { noUnusedLocals: false, allowJs: true, checkJs: true, types: ["vite/client", "node"] },
    include: ["*.ts", "*.mjs"],
  }));
  try {
    await run(TSC, ["-p", join(dir, "tsconfig.json")], { cwd: dir });
  } catch (e) {
    const map = files.map(([n, , w]) => `${n}: ${w}`).join("\n");
    assert.fail(`README code does not type-check:\n${e.stdout}${e.stderr}\n${map}`);
  }
  checked += files.length;
  assert.ok(files.some(([n]) => n.endsWith(".ts")), "the README has TypeScript to check");
  assert.ok(checked >= 6, `${checked} README blocks checked`);
});

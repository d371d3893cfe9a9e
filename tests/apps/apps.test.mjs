// The package as frontend developers use it. The npm package (pkg-npm/, from scripts/build) is
// packed with `npm pack` and installed from its tarball, then:
//   - the shop app (tests/apps/shop) is type-checked by `tsc` under `strict` (the create-vite
//     template's config, and a stricter one that also checks the package's .d.ts with the lib
//     of an ES2022 app), built for production by Vite 8 (no config), Vite 7, webpack 5 and
//     Rollup 4 (each with the config the README gives; Rollup from the web build), and each
//     build is loaded in Debian's Chromium: the engine chooses, <pocket-offer> renders, the
//     report leaves with the offer ID only;
//   - the README's plain <script type="module"> page is served with the tarball's web build and
//     loaded in Chromium, with the same assertions;
//   - Node.js scripts, ESM and CommonJS, are type-checked, compiled and run, with require(esm)
//     turned off;
//   - every code block of the README is type-checked (TypeScript, and the module scripts of
//     HTML blocks), parsed (JSON; a catalog is validated by the package; SQL by DuckDB), run
//     (bundler configs; the compression recipe), compiled (Rust: its lines are those of the
//     example crate's tests) or checked to name what exists (shell commands: scripts, paths,
//     pocketrank-tool's commands and flags); every block has a label.
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
// The retailer's tool as `cargo test` builds it (the native layer runs before this one).
const TOOL = join(HERE, "..", "..", "target", "debug", "pocketrank-tool");
const README = await readFile(join(ROOT, "README.md"), "utf8");
const CATALOG = join(HERE, "shop", "public", "offers.json");

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
  // Node.js before 20.19 / 22.12 cannot require() an ES module: the Node.js build (what both
  // `import` and `require` of the package resolve to) must need no require(esm).
  const choose = `Engine.inMemory({ seed: 1 }).choose(Catalog.fromJson(JSON.stringify({ version: 1, offers: [{ id: "A" }] }))).offerId`;
  const viaRequire = await run("node", ["--no-experimental-require-module", "--input-type=commonjs", "-e", `const { Engine, Catalog } = require("pocketrank"); console.log(${choose})`], { cwd: WORK });
  assert.equal(viaRequire.stdout.trim(), "A", "require(\"pocketrank\") without require(esm)");
  const viaImport = await run("node", ["--no-experimental-require-module", "--input-type=module", "-e", `const { Engine, Catalog } = await import("pocketrank"); console.log(${choose})`], { cwd: WORK });
  assert.equal(viaImport.stdout.trim(), "A", "import(\"pocketrank\") without require(esm)");
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

/** Loads a page in Chromium (a production build by default, with the package at /pkg/ when
 * `pkg` is given), waits for `ready`, the embed's report and two reports at the server;
 * resolves to what the page and the server saw. */
async function loadInChromium(dist, { pkg = dist, ready = "body[data-ready='1']" } = {}) {
  const site = await startServer({ port: 0, quiet: true, www: dist, pkg });
  const b = await browser();
  try {
    const page = await b.context.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    const logged = [];
    page.on("console", (m) => logged.push(`${m.type()}: ${m.text()}`));
    await page.goto(site.url);
    const waitFor = (selector) =>
      page.waitForSelector(selector, { timeout: 20_000 }).catch((e) => {
        throw new Error(`${e.message}\npage errors: ${errors.join("\n")}\nconsole: ${logged.join("\n")}`);
      });
    await waitFor(ready);
    const defined = await page.evaluate(() => customElements.get("pocket-offer") !== undefined);
    assert.ok(defined, "customElements.get('pocket-offer') is defined (the build kept the embed)");
    await waitFor("pocket-offer[data-state='shown'][data-reported]");
    // The page's own report and the embed's.
    for (let waited = 0; site.reports.length < 2 && waited < 10_000; waited += 50) await new Promise((ok) => setTimeout(ok, 50));
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

/** What every page must show: the engine chose `slotOffer`, the embed rendered an offer of the
 * catalog, and the two reports left with the offer IDs only. */
async function assertChoseAndReported({ seen, reports, reportRequests, errors, blocked }, slotOffer) {
  const catalog = JSON.parse(await readFile(CATALOG, "utf8"));
  assert.deepEqual(errors, [], "no uncaught error on the page");
  assert.deepEqual(blocked, [], "nothing but 127.0.0.1 was asked for");
  assert.ok(seen.defined, "customElements.get('pocket-offer') is defined");
  const embedOffer = catalog.offers.find((o) => o.id === seen.embedOffer);
  assert.ok(embedOffer, `the embed shows an offer of the catalog (${seen.embedOffer})`);
  assert.equal(seen.embedText, embedOffer.creative.title, "the embed renders the offer's title");
  assert.equal(seen.embedReported, "1");
  // Two reports (the page's and the embed's), each exactly an offer ID, nothing else.
  assert.deepEqual(reports.map((r) => r.body).sort(), [slotOffer, seen.embedOffer].sort());
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

async function assertShopWorks(dist) {
  const loaded = await loadInChromium(dist);
  const { seen } = loaded;
  assert.equal(seen.offer, "BAKE-5", "the engine chose the baking offer for a baker");
  assert.equal(seen.reason, "personal");
  assert.equal(seen.text, "Flour, 2 for 1", "the creative's title is rendered");
  assert.equal(seen.error, "catalog.invalid_id 0 id", "a bad catalog throws a PocketrankError with offer and field");
  assert.equal(seen.reported, "true");
  await assertChoseAndReported(loaded, seen.offer);
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

test("Rollup 4 builds the app from the web build with the README's config, and the build works in Chromium", async () => {
  // The shop's page as a Rollup app writes it: the same code, importing the web build's entry
  // points (the table's row for Rollup) and calling its init() first.
  const main = await readFile(join(APP, "src", "main.ts"), "utf8");
  const web = main
    .replaceAll('from "pocketrank";', 'from "pocketrank/web";')
    .replaceAll('declare module "pocketrank" {', 'declare module "pocketrank/web" {')
    .replaceAll('import "pocketrank/pocket-offer.js";', 'import "pocketrank/web/pocket-offer.js";');
  assert.doesNotMatch(web, /"pocketrank(\/pocket-offer\.js)?"/, "every import of the bundler build became one of the web build");
  await writeFile(join(APP, "src", "web.ts"), `import init from "pocketrank/web";\nawait init();\n${web}`);
  await tsc("tsconfig.rollup.json");
  const block = readmeConfig("rollup.config.js");
  const configFile = join(APP, "rollup.readme.config.mjs");
  await writeFile(configFile, block.code);
  const config = (await import(pathToFileURL(configFile).href)).default;
  const { rollup } = await import(pathToFileURL(join(TOOLS, "rollup", "dist", "es", "rollup.js")).href);
  const dist = join(APP, "dist-rollup");
  const warnings = [];
  const bundle = await rollup({ ...config, input: join(APP, "out-rollup", "web.js"), onwarn: (w) => warnings.push(w.message) });
  await bundle.write({ ...config.output, dir: dist });
  await bundle.close();
  assert.deepEqual(warnings, [], "rollup logged no warning");
  const wasm = (await readdir(dist, { recursive: true })).filter((f) => f.endsWith(".wasm"));
  assert.equal(wasm.length, 1, `the .wasm is copied beside the bundle: ${wasm}`);
  await cp(CATALOG, join(dist, "offers.json"));
  const html = (await readFile(join(APP, "index.html"), "utf8")).replace('<script type="module" src="/src/main.ts"></script>', '<script type="module" src="/web.js"></script>');
  await writeFile(join(dist, "index.html"), html);
  await assertShopWorks(dist);
});

test("the README's plain <script type=\"module\"> page runs the packed web build in Chromium", async () => {
  const html = readmeBlocks().filter((b) => b.lang === "html");
  const script = html.find((b) => b.code.includes('from "/pkg/pocketrank.js"'));
  const tag = html.find((b) => b.code.startsWith("<pocket-offer "));
  assert.ok(script && tag, "the README has the module script and the <pocket-offer> tag");
  // A page with the slot the script fills, the README's tag, then the README's scripts; the
  // tarball's web/ folder served at /pkg/, as the README's paths say.
  const dir = join(WORK, "plain");
  await mkdir(dir, { recursive: true });
  await cp(CATALOG, join(dir, "offers.json"));
  await writeFile(join(dir, "index.html"), `<!doctype html>
<html lang="en">
  <head><meta charset="UTF-8" /><title>plain module script</title></head>
  <body>
    <p id="offer"></p>
${tag.code}${script.code}  </body>
</html>
`);
  const loaded = await loadInChromium(dir, { pkg: join(WORK, "node_modules", "pocketrank", "web"), ready: "#offer:not(:empty)" });
  const catalog = JSON.parse(await readFile(CATALOG, "utf8"));
  const chosen = catalog.offers.find((o) => o.creative?.title === loaded.seen.text);
  assert.ok(chosen, `the slot shows an offer's title: ${loaded.seen.text}`);
  await assertChoseAndReported(loaded, chosen.id);
});

test("Node.js scripts, ES modules and CommonJS, type-check, compile and choose", async () => {
  await tsc("tsconfig.node.json");
  const catalog = join(APP, "public", "offers.json");
  // With require(esm) off, as on Node.js before 20.19 / 22.12.
  const esm = JSON.parse((await run("node", ["--no-experimental-require-module", join(APP, "out-node", "esm.mjs"), catalog], { cwd: APP })).stdout);
  assert.deepEqual(esm, { offer: "SAIL-7", reason: "personal", code: "event.empty_tags" });
  const cjs = JSON.parse((await run("node", ["--no-experimental-require-module", join(APP, "out-node", "cjs.cjs"), catalog], { cwd: APP })).stdout);
  assert.deepEqual(cjs, { offer: "KNIT-3", reason: "personal", code: "catalog.invalid_json" });
});

/** The words of a shell command line, quotes removed (enough for the README's commands). */
function shellWords(line) {
  return [...line.matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]);
}

/** The simple commands of a shell block: continuations joined, comments dropped, split at
 * `&&`, `;` and line ends, and the loop keywords taken off (`for f in …` keeps its list). */
function shellCommands(code) {
  return code
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((l) => l.replace(/(^|\s)#.*$/, "").trim())
    .flatMap((l) => l.split(/\s*(?:&&|;)\s*(?=(?:[^']*'[^']*')*[^']*$)/))
    .map((c) => c.trim().replace(/^(do|then|else)\s+/, ""))
    .filter((c) => c && !/^(do|done|then|else|fi)$/.test(c));
}

/** `pocketrank-tool help`: subcommand → its part of the usage. */
async function toolUsage() {
  const { stdout } = await run(TOOL, ["help"]);
  const usage = new Map();
  for (const part of stdout.split(/^(?=pocketrank-tool )/m)) {
    const sub = part.match(/^pocketrank-tool (\S+)/)?.[1];
    if (sub) usage.set(sub, part);
  }
  return usage;
}

/** A README shell block names only what exists: scripts (executable), paths of the repository,
 * commands on PATH, cargo binaries, and pocketrank-tool subcommands with the flags its usage
 * gives them. */
async function checkShell(code, where) {
  await run("bash", ["-n", "-c", code]).catch((e) => assert.fail(`${where}: bash -n: ${e.stderr}`));
  const isPath = (w) => /^(\.\/)?(scripts|pkg|pkg-npm|pkg-bundler|pkg-node|examples|www|tests|src|bench|eval|fuzz)(\/|$)/.test(w);
  let cwd = ROOT;
  for (const command of shellCommands(code)) {
    const [first, ...args] = shellWords(command);
    if (first === "for") {
      for (const w of args.slice(2).filter(isPath)) assert.ok(existsSync(join(ROOT, w)), `${where}: ${w} exists`);
      continue;
    }
    if (first === "cd") {
      cwd = join(cwd, args[0]);
      assert.ok(existsSync(cwd), `${where}: cd ${args[0]}: the folder exists`);
      continue;
    }
    const bin = first.match(/^target\/(?:release|debug)\/(.+)$/)?.[1];
    if (bin) {
      assert.ok(existsSync(join(ROOT, "src", "bin", bin)), `${where}: ${first} is a binary of the crate (src/bin/${bin})`);
      if (bin === "pocketrank-tool") {
        const usage = await toolUsage();
        assert.ok(usage.has(args[0]), `${where}: pocketrank-tool ${args[0]} is a subcommand (pocketrank-tool help)`);
        for (const flag of command.match(/--[a-z][a-z-]*/g) ?? []) {
          assert.match(usage.get(args[0]), new RegExp(`${flag}(?![a-z-])`), `${where}: pocketrank-tool ${args[0]} takes ${flag}`);
        }
      }
    } else if (first.includes("/")) {
      assert.ok(existsSync(join(cwd, first)), `${where}: ${first} exists`);
      await run("test", ["-x", join(cwd, first)]).catch(() => assert.fail(`${where}: ${first} is executable`));
    } else {
      await run("bash", ["-c", `command -v ${first}`]).catch(() => assert.fail(`${where}: ${first} is a command on PATH`));
    }
    if (first === "cargo") {
      const i = args.indexOf("--bin");
      if (i >= 0) assert.ok(existsSync(join(ROOT, "src", "bin", args[i + 1])), `${where}: cargo --bin ${args[i + 1]} exists`);
    }
    for (const w of args.filter(isPath)) assert.ok(existsSync(join(cwd, w)), `${where}: ${w} exists`);
  }
}

/** A shell block that only compresses the built files (the README's recipe) is run on a copy of
 * them: every file gets a .gz and a .br that decompress to it. */
async function runCompression(code, where) {
  const dir = join(WORK, "compress");
  const files = [...code.matchAll(/\bpkg\/[\w.-]+/g)].map((m) => m[0]);
  assert.ok(files.length > 0, `${where}: names the files it compresses`);
  for (const f of files) await cp(join(ROOT, f), join(dir, f));
  await run("bash", ["-e", "-c", code], { cwd: dir });
  const { gunzipSync, brotliDecompressSync } = await import("node:zlib");
  for (const f of files) {
    const original = await readFile(join(dir, f));
    assert.deepEqual(gunzipSync(await readFile(join(dir, `${f}.gz`))), original, `${where}: ${f}.gz`);
    assert.deepEqual(brotliDecompressSync(await readFile(join(dir, `${f}.br`))), original, `${where}: ${f}.br`);
  }
}

/** A Rust block is the code between `// README: begin` and `// README: end` in a test of the
 * example crate (examples/rust-shop), which the rust-shop layer compiles and runs; compared
 * without whitespace and rustfmt's trailing commas. */
async function checkRust(code, where) {
  const squeeze = (t) => t.replace(/\s+/g, "").replace(/,([)\]}])/g, "$1");
  const dir = join(ROOT, "examples", "rust-shop");
  const sources = [];
  for (const sub of ["src", "tests"]) {
    for (const f of await readdir(join(dir, sub), { recursive: true })) {
      if (f.endsWith(".rs")) sources.push(await readFile(join(dir, sub, f), "utf8"));
    }
  }
  const marked = sources.flatMap((t) => [...t.matchAll(/\/\/ README: begin\n([\s\S]*?)\/\/ README: end/g)].map((m) => squeeze(m[1])));
  assert.ok(marked.includes(squeeze(code)), `${where}: the Rust block is the code marked "README: begin/end" in examples/rust-shop`);
}

/** The README's prose (outside code blocks) says where the web build's init() is needed in one
 * place only: the rows of the table whose header has an `init()` column. */
function assertInitInOnePlace() {
  const prose = README.replace(/^```\w*\n[\s\S]*?^```$/gm, "");
  const lines = prose.split("\n");
  const header = lines.findIndex((l) => /^\|.*\| `init\(\)` \|$/.test(l));
  assert.ok(header >= 0, "the README has the table with an init() column");
  let end = header;
  while (lines[end + 1]?.startsWith("|")) end++;
  const outside = lines.map((l, i) => [l, i]).filter(([l, i]) => /\binit\(/.test(l) && (i < header || i > end));
  assert.deepEqual(outside.map(([l]) => l), [], "init() is mentioned in prose only in the table");
}

test("every code block of the README has a label and type-checks, parses, compiles, runs or names what exists", async () => {
  assertInitInOnePlace();
  const blocks = readmeBlocks();
  // `text`: formulas and output, read by people only.
  const LABELS = ["ts", "html", "json", "js", "sh", "rust", "sql", "text"];
  for (const b of blocks) assert.ok(LABELS.includes(b.lang), `README.md line ${b.line}: a block labelled "${b.lang}" (label it: ${LABELS.join(", ")})`);
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
    } else if (b.lang === "sh") {
      await checkShell(b.code, where);
      if (/\bgzip\b/.test(b.code)) await runCompression(b.code, where);
      checked++;
    } else if (b.lang === "rust") {
      await checkRust(b.code, where);
      checked++;
    } else if (b.lang === "sql") {
      // Parsed by DuckDB (the engine the retailer-side SQL is tested on).
      const { DuckDBInstance } = await import("@duckdb/node-api");
      const db = await (await DuckDBInstance.create(":memory:")).connect();
      const parsed = JSON.parse((await db.runAndReadAll("SELECT json_serialize_sql(?::VARCHAR)", [b.code])).getRows()[0][0]);
      assert.equal(parsed.error, false, `${where}: DuckDB parses it: ${parsed.error_message}`);
      checked++;
    }
  }
  for (const [name, code] of files) await writeFile(join(dir, name), code);
  await writeFile(join(dir, "tsconfig.json"), JSON.stringify({
    extends: "../tsconfig.strict.json",
    compilerOptions: {
      noUnusedLocals: false,
      allowJs: true,
      checkJs: true,
      types: ["vite/client", "node"],
      // This plugin ships its types (dist/index.d.ts) without naming them in its exports map.
      paths: { "@web/rollup-plugin-import-meta-assets": [join(TOOLS, "@web", "rollup-plugin-import-meta-assets", "dist", "index.d.ts")] },
    },
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

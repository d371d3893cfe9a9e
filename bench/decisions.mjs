// Decisions an app drops without free(): `node bench/decisions.mjs [BUILD_DIR...]` (after
// `scripts/build` and one `node bench/run.mjs --quick`, which writes bench/.out/). A build
// directory holds pkg/ and pkg-node/ (default: this checkout). For each one, in turn, three
// rounds: 20,000 `chooseMany(catalog, { count: 10 })` on the benchmark's 100-offer catalog and
// profile, the decisions left to the garbage collector as an app leaves them, in Node.js (its
// own process) and in Chromium (a fresh page); then, in Node.js, 2,000 calls reading
// `explain()`, `contributions()` and `creative` of every decision (as a "your data" page
// does). Prints µs per call. Give two build directories (say a build of main and one of a
// branch) to compare them alternately on this noisy machine.
import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { startServer } from "../www/server.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const OUT = join(HERE, ".out");
const CALLS = 20000;

async function inNode(pkg) {
  const m = createRequire(import.meta.url)(join(pkg, "pocketrank.js"));
  const profile = await readFile(join(OUT, "profile.json"), "utf8");
  const now = JSON.parse(profile).i[0][2];
  const engine = m.Engine.inMemory({ seed: 1, exploration: 0, diversity: 0, now, privacy: { epsilon: 1 } });
  engine.import(profile);
  const catalog = m.Catalog.fromBytes(await readFile(join(OUT, "catalog-100.bin")));
  const req = { count: 10, preview: true };
  for (let i = 0; i < 2000; i++) engine.chooseMany(catalog, req);
  let t = process.hrtime.bigint();
  for (let i = 0; i < CALLS; i++) engine.chooseMany(catalog, req);
  const dropped = Number(process.hrtime.bigint() - t) / 1e3 / CALLS;
  t = process.hrtime.bigint();
  for (let i = 0; i < CALLS / 10; i++) {
    for (const d of engine.chooseMany(catalog, req)) {
      d.explain();
      d.contributions();
      void d.creative;
    }
  }
  const read = Number(process.hrtime.bigint() - t) / 1e3 / (CALLS / 10);
  console.log(JSON.stringify({ dropped, read }));
}

async function inChromium(pkg) {
  const server = await startServer({ port: 0, www: HERE, pkg, quiet: true });
  const dir = await mkdtemp(join(tmpdir(), "pocketrank-decisions-"));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
  try {
    const page = await context.newPage();
    await page.goto(`${server.url}.out/profile.json`); // a page of this origin that runs nothing
    return await page.evaluate(async (calls) => {
      const m = await import("/pkg/pocketrank.js");
      await m.default();
      const profile = await (await fetch("/.out/profile.json")).text();
      const now = JSON.parse(profile).i[0][2];
      const engine = m.Engine.inMemory({ seed: 1, exploration: 0, diversity: 0, now, privacy: { epsilon: 1 } });
      engine.import(profile);
      const catalog = m.Catalog.fromBytes(new Uint8Array(await (await fetch("/.out/catalog-100.bin")).arrayBuffer()));
      const req = { count: 10, preview: true };
      for (let i = 0; i < 2000; i++) engine.chooseMany(catalog, req);
      const t = performance.now();
      for (let i = 0; i < calls; i++) engine.chooseMany(catalog, req);
      return ((performance.now() - t) * 1000) / calls;
    }, CALLS);
  } finally {
    await context.close();
    await rm(dir, { recursive: true, force: true });
    await server.close();
  }
}

if (process.argv[2] === "--node") {
  await inNode(process.argv[3]);
} else {
  const builds = process.argv.slice(2).map((p) => resolve(p));
  if (!builds.length) builds.push(join(HERE, ".."));
  console.log("| build | Node.js: decisions dropped | Node.js: every decision read | Chromium: decisions dropped |");
  console.log("| --- | ---: | ---: | ---: |");
  for (let round = 0; round < 3; round++) {
    for (const build of builds) {
      const node = JSON.parse(execFileSync(process.execPath, [fileURLToPath(import.meta.url), "--node", join(build, "pkg-node")], { encoding: "utf8" }));
      const page = await inChromium(join(build, "pkg"));
      console.log(`| ${build} | ${node.dropped.toFixed(1)} µs | ${node.read.toFixed(1)} µs | ${page.toFixed(1)} µs |`);
    }
  }
}

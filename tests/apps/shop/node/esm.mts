// Node.js, ES modules: `import` resolves the package's `node` condition.
import { readFileSync } from "node:fs";
import { Catalog, Engine, PocketrankError } from "pocketrank";

const catalog = Catalog.fromJson(readFileSync(process.argv[2]!, "utf8"));
const engine = Engine.inMemory({ seed: 1, now: Date.UTC(2026, 10, 30), exploration: 0 });
engine.record({ kind: "purchase", tags: ["category:sailing"] });
const decision = engine.choose(catalog, { slot: "home" });
let code: string | null = null;
try {
  engine.record({ kind: "view", tags: [] });
} catch (e) {
  if (e instanceof PocketrankError) code = e.code;
}
console.log(JSON.stringify({ offer: decision?.offerId ?? null, reason: decision?.reason ?? null, code }));

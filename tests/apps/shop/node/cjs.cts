// Node.js, CommonJS: compiled to `require("pocketrank")`.
import fs = require("node:fs");
import pocketrank = require("pocketrank");

const catalog = pocketrank.Catalog.fromJson(fs.readFileSync(process.argv[2]!, "utf8"));
const engine = pocketrank.Engine.inMemory({ seed: 1, now: Date.UTC(2026, 10, 30), exploration: 0 });
engine.record({ kind: "cart", tags: ["category:knitting"] });
const decision = engine.choose(catalog, { slot: "home" });
let code: string | null = null;
try {
  pocketrank.Catalog.fromJson("{");
} catch (e) {
  if (e instanceof pocketrank.PocketrankError) code = e.code;
}
console.log(JSON.stringify({ offer: decision?.offerId ?? null, reason: decision?.reason ?? null, code }));

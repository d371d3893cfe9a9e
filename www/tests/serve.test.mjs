// The demo server sends the package compressed, as a production server should: the .wasm and
// the .js in brotli or gzip (whichever the client accepts), with Content-Encoding and Vary.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { request } from "node:http";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { brotliDecompressSync, gunzipSync } from "node:zlib";
import { ROOT, browser, serve } from "./harness.mjs";

let server;
before(async () => { server = await serve(); });
after(async () => { await server.close(); });

function get(path, headers) {
  return new Promise((ok, fail) => {
    request(new URL(path, server.url), { headers }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => ok({ headers: res.headers, body: Buffer.concat(chunks) }));
    }).on("error", fail).end();
  });
}

for (const file of ["pocketrank_bg.wasm", "pocketrank.js", "pocket-offer.js"]) {
  test(`${file} is sent with brotli or gzip when accepted, as it is otherwise`, async () => {
    const raw = await readFile(join(ROOT, "pkg", file));
    const br = await get(`/pkg/${file}`, { "accept-encoding": "gzip, deflate, br" });
    assert.equal(br.headers["content-encoding"], "br");
    assert.match(br.headers.vary ?? "", /accept-encoding/i);
    assert.ok(brotliDecompressSync(br.body).equals(raw), "decompresses to the file");
    const gz = await get(`/pkg/${file}`, { "accept-encoding": "gzip" });
    assert.equal(gz.headers["content-encoding"], "gzip");
    assert.ok(gunzipSync(gz.body).equals(raw));
    const plain = await get(`/pkg/${file}`, {});
    assert.equal(plain.headers["content-encoding"], undefined);
    assert.ok(plain.body.equals(raw));
    if (file.endsWith(".wasm")) assert.ok(br.body.length < raw.length / 2, `${br.body.length} of ${raw.length} bytes`);
  });
}

test("Chromium receives the .wasm compressed and still compiles it streaming", async () => {
  const b = await browser();
  try {
    const page = await b.context.newPage();
    const warnings = [];
    page.on("console", (m) => { if (m.type() === "warning" || m.type() === "error") warnings.push(m.text()); });
    // Which of WebAssembly's entry points the page calls: the streaming ones take the response;
    // instantiate/compile with bytes is the slower fallback (wasm-bindgen's, on a wrong type).
    await page.addInitScript(() => {
      const calls = (window.__wasmCalls = []);
      for (const name of ["instantiateStreaming", "compileStreaming", "instantiate", "compile"]) {
        const real = WebAssembly[name];
        WebAssembly[name] = function (source, ...rest) {
          const bytes = source instanceof ArrayBuffer || ArrayBuffer.isView(source);
          calls.push(bytes ? `${name}(bytes)` : name);
          return real.call(this, source, ...rest);
        };
      }
    });
    const wasm = page.waitForResponse((r) => r.url().endsWith("/pocketrank_bg.wasm"));
    await page.goto(server.url + "embed.html");
    const res = await wasm;
    const headers = await res.allHeaders();
    assert.match(headers["content-encoding"] ?? "", /^(br|gzip)$/);
    assert.equal(headers["content-type"], "application/wasm", "the type instantiateStreaming needs");
    await page.waitForSelector("pocket-offer[data-state='shown']", { timeout: 20_000 });
    const calls = await page.evaluate(() => window.__wasmCalls);
    assert.ok(calls.includes("instantiateStreaming") || calls.includes("compileStreaming"), `compiled streaming: ${calls.join(", ")}`);
    assert.deepEqual(calls.filter((c) => c.endsWith("(bytes)")), [], "never the fallback from bytes");
    assert.deepEqual(warnings.filter((w) => /WebAssembly|instantiateStreaming|wasm/i.test(w)), [], "no warning of the fallback");
  } finally {
    await b.close();
  }
});

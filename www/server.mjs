// The demo shop's dev server: zero dependencies, loopback only.
//
//   node www/server.mjs [--port 8080] [--privacy '{"epsilon":1,"budgetPerWeek":8}']
//
// Serves www/ at /, the built package (pkg/) at /pkg/, and the catalog at /offers.json.
// Text files, the .js and the .wasm go out compressed (brotli, else gzip; with Content-Encoding
// and Vary: Accept-Encoding) when the client accepts it, as they should in production.
// POST /offers/report is the report endpoint: it logs exactly the body it received (and
// whether a cookie or a Referer came with it) and answers 204. GET /__reports lists what it
// received, for the end-to-end tests. GET /site.json is the site's settings (www/site.json, or
// the `site` option / `--privacy JSON` for another privacy mode). With `cors: true` its files go
// out with `Access-Control-Allow-Origin: *`, as an image CDN's do (the end-to-end tests run a
// second server so, on another port, for creative images by URL).
import { createServer } from "node:http";
import { readFile, stat } from "node:fs/promises";
import { promisify } from "node:util";
import { brotliCompress, constants as zlibConstants, gzip } from "node:zlib";
import { extname, join, normalize, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL(".", import.meta.url));
const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".wasm": "application/wasm",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ts": "text/plain; charset=utf-8",
};
const MAX_REPORT_BYTES = 1024;
// Text and code that shrink well are sent compressed to a client that accepts it (brotli first,
// then gzip), as a production server or CDN would; the .wasm is the largest file of the shop.
const COMPRESSIBLE = new Set([".wasm", ".js", ".mjs", ".css", ".html", ".json", ".svg", ".ts"]);
const brotli = promisify(brotliCompress);
const gz = promisify(gzip);
/** Compressed bodies, by file, encoding and modification time: each file is compressed once. */
const compressedCache = new Map();

/** The encoding to use for a request's Accept-Encoding header: "br", "gzip" or null. */
export function pickEncoding(accept = "") {
  const offered = new Map();
  for (const part of String(accept).split(",")) {
    const [name, ...params] = part.trim().toLowerCase().split(";");
    if (!name) continue;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith("q="));
    offered.set(name, q ? Number(q.slice(2)) : 1);
  }
  const ok = (e) => (offered.get(e) ?? offered.get("*") ?? 0) > 0;
  return ok("br") ? "br" : ok("gzip") ? "gzip" : null;
}

async function compressed(file, mtimeMs, body, encoding) {
  const key = `${file}\0${encoding}`;
  const hit = compressedCache.get(key);
  if (hit && hit.mtimeMs === mtimeMs) return hit.body;
  // Brotli at quality 9: within 10% of quality 11 in size, 20 times faster (100 ms, not 2 s, for
  // the .wasm), so that a freshly started server answers at once. A production build would
  // compress once, ahead of time, at 11 (README, "Serving the package").
  const out = encoding === "br"
    ? await brotli(body, { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 9, [zlibConstants.BROTLI_PARAM_SIZE_HINT]: body.length } })
    : await gz(body, { level: 9 });
  compressedCache.set(key, { mtimeMs, body: out });
  return out;
}

function within(root, path) {
  const full = resolve(root, "." + normalize(decodeURIComponent(path)));
  return full === root || full.startsWith(root + sep) ? full : null;
}

async function serveFile(req, res, file, cors = false) {
  const method = req.method;
  let info;
  try {
    info = await stat(file);
    if (info.isDirectory()) {
      file = join(file, "index.html");
      info = await stat(file);
    }
  } catch {
    res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
    return;
  }
  let body = await readFile(file);
  const headers = {
    "content-type": TYPES[extname(file)] ?? "application/octet-stream",
    // Pages revalidate every time (no-cache) but, unlike no-store, may enter the browser's
    // back-forward cache, as a real shop's pages do: the tests cover that case (Your data's undo).
    "cache-control": extname(file) === ".html" ? "no-cache" : "no-store",
  };
  if (cors) headers["access-control-allow-origin"] = "*";
  if (COMPRESSIBLE.has(extname(file))) {
    // The answer depends on Accept-Encoding: caches must key on it.
    headers.vary = "Accept-Encoding";
    const encoding = pickEncoding(req.headers["accept-encoding"]);
    if (encoding) {
      body = await compressed(file, info.mtimeMs, body, encoding);
      headers["content-encoding"] = encoding;
    }
  }
  headers["content-length"] = body.length;
  res.writeHead(200, headers);
  res.end(method === "HEAD" ? undefined : body);
}

/** Starts the server; resolves to { url, port, reports, close }. */
export function startServer({ port = 8080, host = "127.0.0.1", www = here, pkg = join(here, "..", "pkg"), quiet = false, site = null, cors = false, referrerPolicy = "no-referrer", isolated = false } = {}) {
  const wwwRoot = resolve(www);
  const pkgRoot = resolve(pkg);
  const reports = [];
  const log = quiet ? () => {} : (line) => console.log(line);
  const server = createServer(async (req, res) => {
    // No page URL of the shop ever leaves in a Referer header (each page also says so in a
    // <meta name="referrer">, for other servers).
    // (`referrerPolicy: null` leaves the browser's default, for tests of what a page without
    // a policy of its own would send.)
    if (referrerPolicy) res.setHeader("referrer-policy", referrerPolicy);
    // Cross-origin isolation (the benchmark's pages): performance.now() then has a 5 µs
    // resolution instead of 100 µs.
    if (isolated) {
      res.setHeader("cross-origin-opener-policy", "same-origin");
      res.setHeader("cross-origin-embedder-policy", "require-corp");
    }
    const url = new URL(req.url, "http://localhost");
    try {
      if (url.pathname === "/offers/report") {
        if (req.method !== "POST") {
          res.writeHead(405, { allow: "POST" }).end();
          return;
        }
        const chunks = [];
        let size = 0;
        for await (const chunk of req) {
          size += chunk.length;
          if (size > MAX_REPORT_BYTES) {
            res.writeHead(413).end();
            return;
          }
          chunks.push(chunk);
        }
        const body = Buffer.concat(chunks).toString("utf8");
        const entry = {
          body,
          query: url.search,
          contentType: req.headers["content-type"] ?? null,
          cookie: req.headers.cookie ?? null,
          referer: req.headers.referer ?? null,
          at: new Date().toISOString(),
        };
        reports.push(entry);
        log(`report received: ${JSON.stringify(body)} (cookie: ${entry.cookie ? "yes" : "no"}, referer: ${entry.referer ? "yes" : "no"})`);
        res.writeHead(204).end();
        return;
      }
      if (url.pathname === "/site.json" && site) {
        res.writeHead(200, { "content-type": "application/json", "cache-control": "no-store" }).end(JSON.stringify(site));
        return;
      }
      if (url.pathname === "/__reports") {
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(reports));
        return;
      }
      if (req.method !== "GET" && req.method !== "HEAD") {
        res.writeHead(405).end();
        return;
      }
      const [root, path] = url.pathname.startsWith("/pkg/")
        ? [pkgRoot, url.pathname.slice("/pkg".length)]
        : [wwwRoot, url.pathname];
      const file = within(root, path);
      if (!file) {
        res.writeHead(403).end();
        return;
      }
      await serveFile(req, res, file, cors);
    } catch (e) {
      res.writeHead(500, { "content-type": "text/plain" }).end(String(e));
    }
  });
  return new Promise((ok, fail) => {
    server.once("error", fail);
    server.listen(port, host, () => {
      const actual = server.address().port;
      ok({
        url: `http://${host}:${actual}/`,
        port: actual,
        reports,
        close: () => new Promise((done) => { server.closeAllConnections?.(); server.close(done); }),
      });
    });
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf("--port");
  const port = Number(i > 0 ? process.argv[i + 1] : process.env.PORT ?? 8080);
  const p = process.argv.indexOf("--privacy");
  const site = p > 0 ? { privacy: JSON.parse(process.argv[p + 1]) } : null;
  const { url } = await startServer({ port, site });
  console.log(`pocketrank demo shop: ${url}  (your data: ${url}your-data.html)`);
}

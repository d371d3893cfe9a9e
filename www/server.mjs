// The demo shop's dev server: zero dependencies, loopback only.
//
//   node www/server.mjs [--port 8080] [--privacy '{"epsilon":1,"budgetPerWeek":8}']
//
// Serves www/ at /, the built package (pkg/) at /pkg/, and the catalog at /offers.json.
// POST /offers/report is the report endpoint: it logs exactly the body it received (and
// whether a cookie or a Referer came with it) and answers 204. GET /__reports lists what it
// received, for the end-to-end tests. GET /site.json is the site's settings (www/site.json, or
// the `site` option / `--privacy JSON` for another privacy mode).
import { createServer } from "node:http";
import { readFile, stat } from "node:fs/promises";
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

function within(root, path) {
  const full = resolve(root, "." + normalize(decodeURIComponent(path)));
  return full === root || full.startsWith(root + sep) ? full : null;
}

async function serveFile(res, file, method) {
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
  const body = await readFile(file);
  res.writeHead(200, {
    "content-type": TYPES[extname(file)] ?? "application/octet-stream",
    "content-length": body.length,
    "cache-control": "no-store",
  });
  res.end(method === "HEAD" ? undefined : body);
}

/** Starts the server; resolves to { url, port, reports, close }. */
export function startServer({ port = 8080, host = "127.0.0.1", www = here, pkg = join(here, "..", "pkg"), quiet = false, site = null } = {}) {
  const wwwRoot = resolve(www);
  const pkgRoot = resolve(pkg);
  const reports = [];
  const log = quiet ? () => {} : (line) => console.log(line);
  const server = createServer(async (req, res) => {
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
      await serveFile(res, file, req.method);
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

-- Counting and debiasing pocketrank reports at scale, in SQL: what `pocketrank-tool count
-- REPORTS CATALOG EPSILON` computes, for a warehouse holding millions of reports.
-- Tested on DuckDB against the tool's own output (tests/apps/reports.test.mjs); it uses only
-- count, sum, exp, sqrt, CASE and a LEFT JOIN, so it runs unchanged on ClickHouse and BigQuery.
--
-- Inputs (load them as your warehouse does; the test's loading is in its comments):
--   reports(body)    one row per report received: the request body exactly as logged
--                    (an offer ID; with noised reports, the ID the mechanism drew)
--   offers(id)       the offer IDs of the catalog the reports were made against (its K offers)
--   params(epsilon)  one row: the site's ε per noised report, or 0 for exact reports
-- Output: one row per offer of the catalog: the reports that named it, the estimated
-- impressions and the 95% interval. Bodies that name no offer of the catalog are left out.
--
-- With noised reports, a report is the offer shown with probability p = e^ε / (e^ε + K − 1),
-- else each other offer with probability q = (1 − p) / (K − 1); so for n reports, of which c
-- name an offer, its impressions are estimated by (c − n·q) / (p − q), with standard error
-- sqrt(n·π·(1 − π)) / (p − q), π = c / n (src/privacy.rs, `debias`).
WITH
  k AS (SELECT count(*) AS k FROM offers),
  counts AS (
    SELECT o.id AS offer, count(r.body) AS reports
    FROM offers AS o
    LEFT JOIN reports AS r ON r.body = o.id
    GROUP BY o.id
  ),
  n AS (SELECT sum(reports) AS n FROM counts),
  mechanism AS (
    SELECT
      n.n AS n,
      k.k AS k,
      CASE WHEN params.epsilon > 0 AND k.k > 1 AND n.n > 0
        THEN exp(params.epsilon) / (exp(params.epsilon) + k.k - 1)
      END AS p
    FROM params, k, n
  ),
  pq AS (
    SELECT n, p, CASE WHEN p IS NOT NULL THEN (1 - p) / (k - 1) END AS q
    FROM mechanism
  ),
  estimates AS (
    SELECT
      counts.offer,
      counts.reports,
      CASE WHEN pq.p IS NULL THEN 1.0 * counts.reports
        ELSE (counts.reports - pq.n * pq.q) / (pq.p - pq.q)
      END AS estimate,
      CASE WHEN pq.p IS NULL THEN 0.0
        ELSE sqrt(pq.n * (1.0 * counts.reports / pq.n) * (1 - 1.0 * counts.reports / pq.n)) / (pq.p - pq.q)
      END AS se
    FROM counts, pq
  )
SELECT
  offer,
  reports,
  estimate,
  estimate - 1.96 * se AS low,
  estimate + 1.96 * se AS high
FROM estimates
ORDER BY offer;

-- Tally: the path classification (distinct stems, error paths with their requests and 500s) and the top error paths and good paths with 500s.
{{template "tally_rows" .}}
SELECT
  'summary' AS kind,
  CAST(NULL AS varchar) AS stem,
  count(*) AS stems,
  sum(1 - good) AS error_stems,
  sum(CASE WHEN good = 0 THEN requests ELSE 0 END) AS requests,
  sum(CASE WHEN good = 0 THEN status_500 ELSE 0 END) AS status_500
FROM stems
UNION ALL
SELECT * FROM (
  SELECT 'top' AS kind, stem, CAST(NULL AS bigint) AS stems, CAST(NULL AS bigint) AS error_stems, requests, status_500
  FROM stems
  WHERE good = 0
  ORDER BY requests DESC, stem
  LIMIT {{.Tally.TopPaths}}
) AS t
UNION ALL
SELECT * FROM (
  SELECT 'top_good_500' AS kind, stem, CAST(NULL AS bigint) AS stems, CAST(NULL AS bigint) AS error_stems, requests, status_500
  FROM stems
  WHERE good = 1 AND status_500 > 0
  ORDER BY status_500 DESC, stem
  LIMIT {{.Tally.TopPaths}}
) AS g

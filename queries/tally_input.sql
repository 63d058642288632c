-- Tally: rows by fate (analyzed, out of range, settling, of no role) and the span of the analyzed rows in milliseconds since the epoch.
{{template "tally_rows" .}}
SELECT
  sum(CASE WHEN fate = 'analyzed' THEN 1 ELSE 0 END) AS analyzed,
  sum(CASE WHEN fate = 'out_of_range' THEN 1 ELSE 0 END) AS out_of_range,
  sum(CASE WHEN fate = 'settling' THEN 1 ELSE 0 END) AS settling,
  sum(CASE WHEN fate = 'unknown_role' THEN 1 ELSE 0 END) AS unknown_role,
  min(CASE WHEN fate = 'analyzed' THEN ms END) AS min_ms,
  max(CASE WHEN fate = 'analyzed' THEN ms END) AS max_ms
FROM fated

-- Tally: requests, 4xx, 500 and 5xx of all rows and of error-path rows per window, role, local clock hour and time bucket.
{{template "tally_rows" .}}
SELECT
  a.window_index,
  a.role,
  a.clock_hour,
  a.bucket,
  count(*) AS requests,
  sum(CASE WHEN a.status >= 400 AND a.status < 500 THEN 1 ELSE 0 END) AS status_4xx,
  sum(CASE WHEN a.status = 500 THEN 1 ELSE 0 END) AS status_500,
  sum(CASE WHEN a.status >= 500 AND a.status < 600 THEN 1 ELSE 0 END) AS status_5xx,
  sum(CASE WHEN st.good = 0 THEN 1 ELSE 0 END) AS error_path_requests,
  sum(CASE WHEN st.good = 0 AND a.status >= 400 AND a.status < 500 THEN 1 ELSE 0 END) AS error_path_4xx,
  sum(CASE WHEN st.good = 0 AND a.status = 500 THEN 1 ELSE 0 END) AS error_path_500,
  sum(CASE WHEN st.good = 0 AND a.status >= 500 AND a.status < 600 THEN 1 ELSE 0 END) AS error_path_5xx
FROM analyzed AS a
JOIN stems AS st ON a.stem = st.stem
GROUP BY a.window_index, a.role, a.clock_hour, a.bucket
ORDER BY a.window_index, a.role, a.clock_hour, a.bucket

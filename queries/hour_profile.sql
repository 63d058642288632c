-- Requests and 5xx responses per configuration window, role and hour of day (in the time zone named by tz).
{{template "windows" .}}
SELECT
  w.window_name,
  w.window_start,
  l.role,
  hour(l."timestamp" AT TIME ZONE {{str .TimeZone}}) AS hour_of_day,
  count(*) AS requests,
  sum(CASE WHEN l.sc_status BETWEEN 500 AND 599 THEN 1 ELSE 0 END) AS status_5xx,
  sum(CASE WHEN l.sc_status = 500 THEN 1 ELSE 0 END) AS status_500
{{template "join" .}}
GROUP BY w.window_name, w.window_start, l.role, hour(l."timestamp" AT TIME ZONE {{str .TimeZone}})
ORDER BY w.window_start, w.window_name, l.role, hour_of_day

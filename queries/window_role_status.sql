-- Requests per configuration window, role and sc-status, with each status's share of the window and role.
{{template "windows" .}}
SELECT
  w.window_name,
  w.window_start,
  l.role,
  l.sc_status,
  count(*) AS requests,
  CAST(count(*) AS double) / sum(count(*)) OVER (PARTITION BY w.window_name, l.role) AS share
{{template "join" .}}
GROUP BY w.window_name, w.window_start, l.role, l.sc_status
ORDER BY w.window_start, w.window_name, l.role, l.sc_status

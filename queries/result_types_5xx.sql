-- Edge result types of the 5xx responses per configuration window, role and sc-status.
{{template "windows" .}}
SELECT
  w.window_name,
  w.window_start,
  l.role,
  l.sc_status,
  l.x_edge_result_type,
  l.x_edge_detailed_result_type,
  count(*) AS requests
{{template "join" .}}
  AND l.sc_status BETWEEN 500 AND 599
GROUP BY w.window_name, w.window_start, l.role, l.sc_status, l.x_edge_result_type, l.x_edge_detailed_result_type
ORDER BY w.window_start, w.window_name, l.role, l.sc_status, requests DESC, l.x_edge_result_type, l.x_edge_detailed_result_type

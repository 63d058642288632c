-- Tally: requests per window, role and status slot (the code, 600 for other codes, 601 for none), with the result types of the 500s.
{{template "tally_rows" .}}
SELECT
  window_index,
  role,
  status_slot,
  edge_type,
  response_type,
  detailed_type,
  count(*) AS requests
FROM (
  SELECT
    window_index,
    role,
    CASE WHEN status IS NULL OR status < 0 THEN 601 WHEN status < 600 THEN status ELSE 600 END AS status_slot,
    CASE WHEN status = 500 THEN COALESCE(NULLIF(edge_type, ''), '-') END AS edge_type,
    CASE WHEN status = 500 THEN COALESCE(NULLIF(response_type, ''), '-') END AS response_type,
    CASE WHEN status = 500 THEN COALESCE(NULLIF(detailed_type, ''), '-') END AS detailed_type
  FROM analyzed
) AS c
GROUP BY window_index, role, status_slot, edge_type, response_type, detailed_type
ORDER BY window_index, role, status_slot, edge_type, response_type, detailed_type

{{- /* Shared part of the tally queries: every row of the read partitions
with its fate (out_of_range, settling, unknown_role, analyzed), its window
number, role, local clock hour and time bucket, as the local engine counts
them. Times are compared in milliseconds since the epoch; the window and
settle boundaries, the range, the bucket width and the time zone are
parameters. The zone's clock hour is counted from 1970-01-01 00:00 wall
time, so that it keeps the two hours of a daylight saving fall-back apart.
The casts of the partition columns are explained in common.sql. An error
path expression is tested with regexp_replace (a match changes the stem:
a TAB, which no logged stem holds, replaces it), since DuckDB has no
regexp_like; the expression must mean the same in Go's, Trino's and
DuckDB's syntax. */ -}}
{{define "tally_rows" -}}
WITH src AS (
  SELECT
    date_diff('millisecond', TIMESTAMP '1970-01-01 00:00:00', CAST(l."timestamp" AT TIME ZONE 'UTC' AS timestamp)) AS ms,
    date_diff('hour', TIMESTAMP '1970-01-01 00:00:00', date_trunc('hour', CAST(l."timestamp" AT TIME ZONE {{str .TimeZone}} AS timestamp))) AS clock_hour,
    COALESCE(
{{- if .Tally.Roles}}
      CASE l.distribution_id{{range .Tally.Roles}} WHEN {{str .ID}} THEN {{str .Role}}{{end}} END,
{{- end}}
      CASE l.role WHEN 'production' THEN 'production' WHEN 'staging' THEN 'staging' END
{{- if .Tally.Roles}},
      CASE l.distributionid{{range .Tally.Roles}} WHEN {{str .ID}} THEN {{str .Role}}{{end}} END
{{- end}}
    ) AS role,
    l.sc_status AS status,
    COALESCE(l.cs_uri_stem, '') AS stem,
    l.x_edge_result_type AS edge_type,
    l.x_edge_response_result_type AS response_type,
    l.x_edge_detailed_result_type AS detailed_type
  FROM {{.Relation}} AS l
{{- if or .Tally.HasFrom .Tally.HasTo .Distributions}}
  WHERE TRUE
{{- if .Tally.HasFrom}}
    AND (CAST(l.year AS integer) * 1000000 + CAST(l.month AS integer) * 10000 + CAST(l.day AS integer) * 100 + CAST(l.hour AS integer)) >= {{hourKey .Tally.From}}
{{- end}}
{{- if .Tally.HasTo}}
    AND (CAST(l.year AS integer) * 1000000 + CAST(l.month AS integer) * 10000 + CAST(l.day AS integer) * 100 + CAST(l.hour AS integer)) <= {{hourKey .Tally.Last}}
{{- end}}
{{- if .Distributions}}
    AND l.distributionid IN ({{range $i, $d := .Distributions}}{{if $i}}, {{end}}{{str $d}}{{end}})
{{- end}}
{{- end}}
),
placed AS (
  SELECT
    s.*,
    CASE{{range $i, $w := .Tally.Windows}}{{if $w.HasTo}} WHEN s.ms < {{$w.ToMS}} THEN {{$i}}{{end}}{{end}} ELSE {{.Tally.LastWindow}} END AS window_index,
    CAST(floor(CAST(s.ms AS double) / {{.Tally.BucketMS}}) AS bigint) AS bucket
  FROM src AS s
),
fated AS (
  SELECT
    p.*,
    CASE
      WHEN p.ms IS NULL{{if .Tally.HasFrom}} OR p.ms < {{.Tally.FromMS}}{{end}}{{if .Tally.HasTo}} OR p.ms >= {{.Tally.ToMS}}{{end}} THEN 'out_of_range'
{{- range $i, $w := .Tally.Windows}}{{if $w.HasSettle}}
      WHEN p.window_index = {{$i}} AND p.ms < {{$w.SettleMS}} THEN 'settling'
{{- end}}{{end}}
      WHEN p.role IS NULL THEN 'unknown_role'
      ELSE 'analyzed'
    END AS fate
  FROM placed AS p
),
analyzed AS (
  SELECT * FROM fated WHERE fate = 'analyzed'
),
stems AS (
  SELECT
    stem,
{{- if .Tally.ErrorPath}}
    CASE WHEN regexp_replace(stem, {{str .Tally.ErrorPath}}, chr(9)) <> stem THEN 0 ELSE 1 END AS good,
{{- else}}
    max(CASE WHEN status >= 200 AND status < 400 THEN 1 ELSE 0 END) AS good,
{{- end}}
    count(*) AS requests,
    sum(CASE WHEN status = 500 THEN 1 ELSE 0 END) AS status_500
  FROM analyzed
  GROUP BY stem
)
{{- end}}

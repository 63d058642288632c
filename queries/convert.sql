-- Copy one UTC day of the raw log table into the cflens dataset table, in its schema and partitions (one INSERT per day: at most 100 partitions per query).
INSERT INTO "{{.Database}}"."{{.Table}}"
SELECT
  c.*,
  COALESCE(c.distribution_id, 'unknown') AS distributionid,
  CAST(year(c."timestamp") AS varchar) AS year,
  lpad(CAST(month(c."timestamp") AS varchar), 2, '0') AS month,
  lpad(CAST(day(c."timestamp") AS varchar), 2, '0') AS day,
  lpad(CAST(hour(c."timestamp") AS varchar), 2, '0') AS hour
FROM (
  SELECT
{{- range $i, $s := .Convert.Select}}
    {{if $i}},{{else}} {{end}}{{$s.Expr}} AS "{{$s.Name}}"
{{- end}}
  FROM "{{.Database}}"."{{.Convert.RawTable}}" AS r
  WHERE r."date" = DATE '{{.Convert.Day}}'
    AND r."time" IS NOT NULL
{{- if .Convert.Distributions}}
    AND regexp_extract(r."$path", {{str .Convert.PathRe}}, 1) IN ({{range $i, $d := .Convert.Distributions}}{{if $i}}, {{end}}{{str $d}}{{end}})
{{- end}}
) AS c

{{- /* Shared parts of the analysis queries. The partition columns are
cast because DuckDB reads zero-padded Hive values such as month=09 as text,
while Athena declares them int; the cast is a no-op there and Athena still
prunes projected partitions with it. */ -}}
{{define "windows" -}}
WITH windows (window_name, window_start, window_end) AS (
  VALUES
{{- range $i, $w := .Windows}}
    {{if $i}},{{else}} {{end}}({{str $w.Name}}, {{ts $w.Start}}, {{ts $w.End}})
{{- end}}
)
{{- end}}

{{define "join" -}}
FROM {{.Relation}} AS l
JOIN windows AS w
  ON l."timestamp" >= w.window_start AND l."timestamp" < w.window_end
WHERE (CAST(l.year AS integer) * 1000000 + CAST(l.month AS integer) * 10000 + CAST(l.day AS integer) * 100 + CAST(l.hour AS integer))
      BETWEEN {{hourKey .Span.Start}} AND {{hourKey .Span.Last}}
{{- if .Distributions}}
  AND l.distributionid IN ({{range $i, $d := .Distributions}}{{if $i}}, {{end}}{{str $d}}{{end}})
{{- end}}
{{- end}}

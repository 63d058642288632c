{{- /* Shared parts of the analysis queries. */ -}}
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
WHERE (l.year * 1000000 + l.month * 10000 + l.day * 100 + l.hour) BETWEEN {{hourKey .Span.Start}} AND {{hourKey .Span.Last}}
{{- if .Distributions}}
  AND l.distributionid IN ({{range $i, $d := .Distributions}}{{if $i}}, {{end}}{{str $d}}{{end}})
{{- end}}
{{- end}}

-- Athena table over the raw legacy CloudFront access logs (AWS's documented table), for 'cflens athena convert'.
-- Legacy log objects sit side by side under one prefix, named <distribution ID>.YYYY-MM-DD-HH.<unique>.gz:
-- there are no folders to project partitions on, so every query of this table reads all of it.
-- Columns follow AWS's documentation, but for the two timings, declared double (not float) to keep the logged decimals exact,
-- and the two fields added since (distribution_tenant_id, connection_id); files with fewer fields read NULL for the rest.
CREATE EXTERNAL TABLE IF NOT EXISTS `{{.Database}}`.`{{.Convert.RawTable}}` (
{{- range $i, $c := .Convert.RawColumns}}
  {{if $i}},{{else}} {{end}}`{{$c.Name}}` {{$c.Type}}
{{- end}}
)
ROW FORMAT DELIMITED
FIELDS TERMINATED BY '\t'
LOCATION {{str .Convert.RawLocation}}
TBLPROPERTIES (
   'skip.header.line.count' = '2'
)

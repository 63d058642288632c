-- Athena table over the cflens Parquet dataset, with partition projection.
{{- if .YearTo}}
-- The projected years end in {{.YearTo}}: rows of later years stay invisible until the table is created again with a later end (or without one).
{{- end}}
CREATE EXTERNAL TABLE IF NOT EXISTS `{{.Database}}`.`{{.Table}}` (
{{- range $i, $c := .Columns}}
  {{if $i}},{{else}} {{end}}`{{$c.Name}}` {{$c.Type}}
{{- end}}
)
PARTITIONED BY (
   `distributionid` string
  ,`year` string
  ,`month` string
  ,`day` string
  ,`hour` string
)
STORED AS PARQUET
LOCATION {{str .Location}}
TBLPROPERTIES (
   'projection.enabled' = 'true'
  ,'projection.distributionid.type' = 'enum'
  ,'projection.distributionid.values' = {{str (join .Distributions ",")}}
  ,'projection.year.type' = 'date'
  ,'projection.year.format' = 'yyyy'
  ,'projection.year.range' = '{{.YearFrom}},{{if .YearTo}}{{.YearTo}}{{else}}NOW{{end}}'
  ,'projection.year.interval' = '1'
  ,'projection.year.interval.unit' = 'YEARS'
  ,'projection.month.type' = 'integer'
  ,'projection.month.range' = '1,12'
  ,'projection.month.digits' = '2'
  ,'projection.day.type' = 'integer'
  ,'projection.day.range' = '1,31'
  ,'projection.day.digits' = '2'
  ,'projection.hour.type' = 'integer'
  ,'projection.hour.range' = '0,23'
  ,'projection.hour.digits' = '2'
  ,'storage.location.template' = {{str (printf "%sdistributionid=${distributionid}/year=${year}/month=${month}/day=${day}/hour=${hour}/" .Location)}}
)

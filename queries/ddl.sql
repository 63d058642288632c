-- Athena table over the cflens Parquet dataset, with partition projection.
CREATE EXTERNAL TABLE IF NOT EXISTS `{{.Database}}`.`{{.Table}}` (
{{- range $i, $c := .Columns}}
  {{if $i}},{{else}} {{end}}`{{$c.Name}}` {{$c.Type}}
{{- end}}
)
PARTITIONED BY (
   `distributionid` string
  ,`year` int
  ,`month` int
  ,`day` int
  ,`hour` int
)
STORED AS PARQUET
LOCATION {{str .Location}}
TBLPROPERTIES (
   'projection.enabled' = 'true'
  ,'projection.distributionid.type' = 'enum'
  ,'projection.distributionid.values' = {{str (join .Distributions ",")}}
  ,'projection.year.type' = 'integer'
  ,'projection.year.range' = '{{.YearFrom}},{{.YearTo}}'
  ,'projection.year.digits' = '4'
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

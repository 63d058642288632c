package loggen

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/google/go-cmp/cmp"

	"github.com/cflens/cflens/ingest"
)

// v2Scenario is a short scenario with every kind of response.
func v2Scenario() *Scenario {
	sc := DefaultScenario(0.2)
	sc.Hours = 4
	sc.Windows = sc.Windows[3:4]
	sc.Windows[0].Start = sc.Start
	sc.Peaks = nil
	return sc
}

// legacyRecords returns, per file in writing order, the records of a
// legacy run split into fields.
func legacyRecords(t *testing.T, sc *Scenario) [][][]string {
	t.Helper()
	fs, _ := generateMem(t, sc)
	var out [][][]string
	for _, name := range fs.order {
		var recs [][]string
		for _, l := range gunzipLines(t, name, fs.files[name])[2:] {
			recs = append(recs, strings.Split(strings.TrimSuffix(l, "\t"), "\t"))
		}
		out = append(out, recs)
	}
	return out
}

// readV2 reads one v2 object back as rows of field name → value.
func readV2(t *testing.T, mem memory.Allocator, format Format, o V2Options, name string, data []byte) []map[string]string {
	t.Helper()
	var rows []map[string]string
	switch format {
	case V2JSON:
		for _, l := range gunzipLines(t, name, data) {
			var m map[string]string
			if err := json.Unmarshal([]byte(l), &m); err != nil {
				t.Fatalf("%s: %v in %q", name, err, l)
			}
			rows = append(rows, m)
		}
	case V2W3C:
		ls := gunzipLines(t, name, data)
		fields := strings.Fields(strings.TrimPrefix(ls[1], "#Fields: "))
		if ls[0] != "#Version: 1.0" || !strings.HasPrefix(ls[1], "#Fields: ") {
			t.Fatalf("%s: header %q", name, ls[:2])
		}
		for _, l := range ls[2:] {
			vals := strings.Split(l, string(o.Delimiter))
			if len(vals) != len(fields) {
				t.Fatalf("%s: %d values for %d fields", name, len(vals), len(fields))
			}
			m := map[string]string{}
			for i, f := range fields {
				m[f] = vals[i]
			}
			rows = append(rows, m)
		}
	case V2Parquet:
		pf, err := file.NewParquetReader(bytes.NewReader(data), file.WithReadProps(nil))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		defer pf.Close()
		fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{}, mem)
		if err != nil {
			t.Fatal(err)
		}
		tbl, err := fr.ReadTable(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		defer tbl.Release()
		rows = make([]map[string]string, tbl.NumRows())
		for i := range rows {
			rows[i] = map[string]string{}
		}
		byColumn := map[string]string{}
		for _, f := range o.Fields {
			byColumn[ParquetColumnName(f)] = f
		}
		for c := range int(tbl.NumCols()) {
			col := tbl.Column(c)
			field, ok := byColumn[col.Name()]
			if !ok {
				t.Fatalf("%s: unexpected column %s", name, col.Name())
			}
			i := 0
			for _, chunk := range col.Data().Chunks() {
				s := chunk.(*array.String)
				for j := range s.Len() {
					rows[i][field] = s.Value(j)
					i++
				}
			}
		}
	}
	return rows
}

// TestV2SameRecordsAsLegacy writes one scenario in each v2 format and
// checks that every object holds, field by field, the records of the
// legacy file written for the same distribution and hour.
func TestV2SameRecordsAsLegacy(t *testing.T) {
	all := LegacyFields()
	subset := []string{FieldTimestampMS, "x-edge-location", "c-ip", "cs-uri-stem", "sc-status",
		"x-edge-result-type", "x-edge-detailed-result-type", "cs(User-Agent)", "x-forwarded-for", FieldTimestamp}
	tests := []struct {
		name   string
		format Format
		opts   V2Options
	}{
		{name: "json all fields hive", format: V2JSON},
		{name: "json subset templated", format: V2JSON, opts: V2Options{Fields: subset, Templated: true}},
		{name: "w3c tab all fields", format: V2W3C},
		{name: "w3c space subset", format: V2W3C, opts: V2Options{Fields: subset, Delimiter: ' '}},
		{name: "w3c pipe reordered", format: V2W3C, opts: V2Options{Fields: []string{"sc-status", "time", "date", "cs(Host)"}, Delimiter: '|'}},
		{name: "parquet all fields", format: V2Parquet},
		{name: "parquet subset templated", format: V2Parquet, opts: V2Options{Fields: subset, Templated: true, AccountID: "210987654321"}},
	}
	sc := v2Scenario()
	legacy := legacyRecords(t, sc)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			o := tt.opts
			o.Allocator = mem
			fs := newMemFS()
			tr, err := Generate(context.Background(), v2Scenario(), Output{Create: fs.create, Format: tt.format, Prefix: "logs/", V2: o})
			if err != nil {
				t.Fatal(err)
			}
			if len(fs.order) != len(legacy) {
				t.Fatalf("%d objects, legacy run wrote %d", len(fs.order), len(legacy))
			}
			if o.Fields == nil {
				o.Fields = all
			}
			if o.Delimiter == 0 {
				o.Delimiter = '\t'
			}
			account := o.AccountID
			if account == "" {
				account = "123456789012"
			}
			for fi, name := range fs.order {
				ft := tr.Files[fi]
				info, ok := ingest.ParseKey(name)
				if !ok || info.DistributionID != ft.DistributionID || !info.Hour.Equal(ft.Hour) {
					t.Errorf("ParseKey(%s) = %+v, want %s at %s", name, info, ft.DistributionID, ft.Hour)
				}
				wantDir := "logs/AWSLogs/" + account + "/CloudFront/DistributionId=" + ft.DistributionID + ft.Hour.Format("/year=2006/month=01/day=02/hour=15/")
				if o.Templated {
					wantDir = "logs/AWSLogs/" + account + "/CloudFront/" + ft.DistributionID + ft.Hour.Format("/2006/01/02/15/")
				}
				if !strings.HasPrefix(name, wantDir) {
					t.Errorf("%s not under %s", name, wantDir)
				}
				rows := readV2(t, mem, tt.format, o, name, fs.files[name])
				if len(rows) != len(legacy[fi]) {
					t.Fatalf("%s: %d rows, legacy file has %d", name, len(rows), len(legacy[fi]))
				}
				for ri, rec := range legacy[fi] {
					want := map[string]string{}
					for _, f := range o.Fields {
						for k, lf := range all {
							if lf == f {
								want[f] = rec[k]
							}
						}
					}
					got := rows[ri]
					// The timestamps carry milliseconds the legacy
					// time field drops: check they agree to the second.
					secs, _ := time.Parse("2006-01-02 15:04:05", rec[0]+" "+rec[1])
					if v, ok := got[FieldTimestampMS]; ok {
						ms, err := strconv.ParseInt(v, 10, 64)
						if err != nil || ms/1000 != secs.Unix() {
							t.Errorf("%s row %d: timestamp(ms) %s, time %s", name, ri, v, secs)
						}
						want[FieldTimestampMS] = v
					}
					if v, ok := got[FieldTimestamp]; ok {
						whole, frac, _ := strings.Cut(v, ".")
						s, err := strconv.ParseInt(whole, 10, 64)
						if err != nil || len(frac) != 3 || s != secs.Unix() {
							t.Errorf("%s row %d: timestamp %s, time %s", name, ri, v, secs)
						}
						want[FieldTimestamp] = v
					}
					if diff := cmp.Diff(want, got); diff != "" {
						t.Fatalf("%s row %d (-legacy +v2):\n%s", name, ri, diff)
					}
				}
			}
		})
	}
}

func TestV2OptionsRejected(t *testing.T) {
	tests := []struct {
		name   string
		format Format
		opts   V2Options
	}{
		{name: "unknown field", format: V2JSON, opts: V2Options{Fields: []string{"date", "no-such-field"}}},
		{name: "field twice", format: V2W3C, opts: V2Options{Fields: []string{"date", "date"}}},
		{name: "newline delimiter", format: V2W3C, opts: V2Options{Delimiter: '\n'}},
		{name: "comma inside user agents", format: V2W3C, opts: V2Options{Delimiter: ','}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := newMemFS()
			if _, err := Generate(context.Background(), v2Scenario(), Output{Create: fs.create, Format: tt.format, V2: tt.opts}); err == nil {
				t.Error("Generate accepted the options")
			}
		})
	}
}

package loggen

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"github.com/cflens/cflens/ingest"
)

var update = flag.Bool("update", false, "rewrite golden files")

// memFS keeps written objects in memory.
type memFS struct {
	mu    sync.Mutex
	files map[string][]byte
	order []string
}

func newMemFS() *memFS { return &memFS{files: map[string][]byte{}} }

type memFile struct {
	bytes.Buffer
	fs   *memFS
	name string
}

func (f *memFile) Close() error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	f.fs.files[f.name] = f.Bytes()
	return nil
}

func (m *memFS) create(name string) (io.WriteCloser, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, dup := m.files[name]; dup {
		return nil, fmt.Errorf("%s written twice", name)
	}
	m.files[name] = nil
	m.order = append(m.order, name)
	return &memFile{fs: m, name: name}, nil
}

// smallScenario is the default scenario at a scale that tests run fast.
func smallScenario() *Scenario { return DefaultScenario(0.5) }

func generateMem(t *testing.T, sc *Scenario) (*memFS, *Truth) {
	t.Helper()
	fs := newMemFS()
	tr, err := Generate(context.Background(), sc, Output{Create: fs.create})
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	return fs, tr
}

// gunzipLines returns the lines of a gzip file.
func gunzipLines(t *testing.T, name string, data []byte) []string {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if len(raw) == 0 || raw[len(raw)-1] != '\n' {
		t.Fatalf("%s does not end with a newline", name)
	}
	return strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
}

func TestLegacyHeaderIsCloudFronts(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "awsdocs_33fields.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	var want strings.Builder
	for range 2 {
		if !sc.Scan() {
			t.Fatal("sample has no header")
		}
		want.WriteString(sc.Text() + "\n")
	}
	if diff := cmp.Diff(want.String(), LegacyHeader()); diff != "" {
		t.Errorf("header (-sample +generated):\n%s", diff)
	}
	if got := len(LegacyFields()); got != 33 {
		t.Errorf("LegacyFields has %d names, want 33", got)
	}
}

func TestGenerateIsDeterministic(t *testing.T) {
	tests := []struct {
		name     string
		seedB    uint64
		wantSame bool
	}{
		{name: "same seed gives the same bytes", seedB: 1, wantSame: true},
		{name: "another seed gives other bytes", seedB: 2, wantSame: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := DefaultScenario(0.1)
			b := DefaultScenario(0.1)
			b.Seed = tt.seedB
			fa, _ := generateMem(t, a)
			fb, _ := generateMem(t, b)
			same := slices.Equal(fa.order, fb.order)
			for _, name := range fa.order {
				same = same && bytes.Equal(fa.files[name], fb.files[name])
			}
			if same != tt.wantSame {
				t.Errorf("outputs equal = %t, want %t", same, tt.wantSame)
			}
		})
	}
}

type cellKey struct {
	window int
	role   string
	peak   bool
}

type cellCounts struct {
	Requests, ErrorPath, Status500, CustomErrorResponses, ClientAborts int64
}

// TestTruthMatchesFiles re-reads every generated file with a plain split
// and recounts what the truth says.
func TestTruthMatchesFiles(t *testing.T) {
	sc := smallScenario()
	fs, tr := generateMem(t, sc)

	errorPaths := map[string]bool{}
	for _, p := range sc.ErrorPaths {
		errorPaths[p.Path] = true
	}
	roleOf := map[string]string{
		sc.Distributions.Production.ID: "production",
		sc.Distributions.Staging.ID:    "staging",
	}
	header := strings.Split(strings.TrimSuffix(LegacyHeader(), "\n"), "\n")

	got := map[cellKey]cellCounts{}
	var records int64
	var unordered, multiFileHours int
	filesPerHour := map[string]int{}
	quirks := map[string]int64{}
	if len(fs.order) != len(tr.Files) {
		t.Fatalf("%d objects written, truth lists %d", len(fs.order), len(tr.Files))
	}
	for fi, name := range fs.order {
		ft := tr.Files[fi]
		if ft.Name != name {
			t.Fatalf("file %d is %s, truth says %s", fi, name, ft.Name)
		}
		info, ok := ingest.ParseKey(name)
		if !ok || info.DistributionID != ft.DistributionID || !info.Hour.Equal(ft.Hour) {
			t.Errorf("ParseKey(%s) = %+v, %t; want %s at %s", name, info, ok, ft.DistributionID, ft.Hour)
		}
		role := roleOf[info.DistributionID]
		if role != ft.Role {
			t.Errorf("%s: role %q, truth says %q", name, role, ft.Role)
		}
		filesPerHour[info.DistributionID+info.Hour.String()]++
		lines := gunzipLines(t, name, fs.files[name])
		if len(lines) < 2 || lines[0] != header[0] || lines[1] != header[1] {
			t.Fatalf("%s: header %q", name, lines[:min(2, len(lines))])
		}
		body := lines[2:]
		if len(body) != ft.Records {
			t.Errorf("%s: %d records, truth says %d", name, len(body), ft.Records)
		}
		var prev time.Time
		for _, line := range body {
			if strings.HasSuffix(line, "\t") {
				quirks["trailing tab"]++
				line = strings.TrimSuffix(line, "\t")
			}
			f := strings.Split(line, "\t")
			if strings.Contains(f[10], "%2520") {
				quirks["double-encoded user agent"]++
			}
			if xff := f[19]; xff == "unknown" || strings.Count(xff, ":") == 1 {
				quirks["unknown or ip:port forwarded-for"]++
			}
			if len(f) != 33 {
				t.Fatalf("%s: %d fields in %q", name, len(f), line)
			}
			ts, err := time.Parse("2006-01-02 15:04:05", f[0]+" "+f[1])
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if ts.Truncate(time.Hour) != info.Hour {
				t.Errorf("%s: record at %s outside the file's hour", name, ts)
			}
			if ts.Before(prev) {
				unordered++
			}
			prev = ts
			w := 0
			for i, win := range sc.Windows {
				if !ts.Before(win.Start) {
					w = i
				}
			}
			k := cellKey{window: w, role: role, peak: sc.IsPeak(ts.Truncate(time.Hour))}
			c := got[k]
			c.Requests++
			status, path, contentType := f[8], f[7], f[29]
			if errorPaths[path] {
				c.ErrorPath++
				switch {
				case status == "500":
					c.Status500++
				case contentType == "text/html":
					c.CustomErrorResponses++
				}
			} else if status == "000" {
				c.ClientAborts++
			}
			if status == "500" && !errorPaths[path] {
				t.Errorf("%s: 500 on a good path: %q", name, line)
			}
			got[k] = c
			records++
		}
	}
	for _, n := range filesPerHour {
		if n > 1 {
			multiFileHours++
		}
	}

	want := map[cellKey]cellCounts{}
	for _, c := range tr.Cells {
		if c.Requests > 0 {
			want[cellKey{c.Window, c.Role, c.Peak}] = cellCounts{c.Requests, c.ErrorPath, c.Status500, c.CustomErrorResponses, c.ClientAborts}
		}
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(cellKey{})); diff != "" {
		t.Errorf("cells (-truth +files):\n%s", diff)
	}
	if records != tr.Records {
		t.Errorf("files hold %d records, truth says %d", records, tr.Records)
	}
	var hourly int64
	for _, h := range tr.Hours {
		hourly += h.Production + h.Staging
	}
	if hourly != tr.Records {
		t.Errorf("hours add up to %d records, truth says %d", hourly, tr.Records)
	}
	// Each of the three quirks takes a third of QuirkRate.
	for _, q := range []string{"trailing tab", "double-encoded user agent", "unknown or ip:port forwarded-for"} {
		want := float64(tr.Records) * sc.QuirkRate / 3
		if got := float64(quirks[q]); math.Abs(got-want) > 5*math.Sqrt(want) {
			t.Errorf("%s: %g records, want about %.0f", q, got, want)
		}
	}
	if unordered == 0 {
		t.Error("every file is in strict time order; CloudFront's are not")
	}
	if multiFileHours == 0 {
		t.Error("no hour of a distribution spans two files")
	}
}

// TestRatesNearChosen checks that each window × role × peak cell's share
// of 500s is within 4.5 standard errors of the chosen probability, and
// that a zero probability gives no 500 at all.
func TestRatesNearChosen(t *testing.T) {
	_, tr := generateMem(t, smallScenario())
	checked := 0
	for _, c := range tr.Cells {
		name := fmt.Sprintf("window %d %s peak=%t", c.Window, c.Role, c.Peak)
		if c.Peak && c.Role == "staging" {
			continue // no traffic; TestPeakHoursHaveNoStaging checks that
		}
		if c.P500 == 0 {
			if c.Status500 != 0 {
				t.Errorf("%s: %d 500s, chosen probability 0", name, c.Status500)
			}
			continue
		}
		if c.ErrorPath < 100 {
			t.Errorf("%s: only %d error-path requests to check p=%g", name, c.ErrorPath, c.P500)
			continue
		}
		se := math.Sqrt(c.P500 * (1 - c.P500) / float64(c.ErrorPath))
		if got := c.Rate500(); math.Abs(got-c.P500) > 4.5*se {
			t.Errorf("%s: rate %.3f over %d, chosen %.3f (se %.3f)", name, got, c.ErrorPath, c.P500, se)
		}
		checked++
	}
	if checked != 4 {
		t.Errorf("checked %d non-zero cells, want 4 (both on: 2, one side on: 1 each)", checked)
	}
}

func TestPeakHoursHaveNoStaging(t *testing.T) {
	sc := smallScenario()
	_, tr := generateMem(t, sc)
	if got, want := len(tr.PeakHours), 15; got != want {
		t.Errorf("%d peak hours, want %d", got, want)
	}
	for _, h := range tr.Hours {
		share := h.StagingShare()
		if h.Peak {
			if h.Staging != 0 {
				t.Errorf("peak hour %s: %d staging requests", h.Start, h.Staging)
			}
			continue
		}
		n := float64(h.Production + h.Staging)
		se := math.Sqrt(sc.Weight * (1 - sc.Weight) / n)
		if math.Abs(share-sc.Weight) > 5*se {
			t.Errorf("hour %s: staging share %.3f, weight %.2f", h.Start, share, sc.Weight)
		}
	}
	for _, c := range tr.Cells {
		if c.Peak && c.Role == "staging" && c.Requests != 0 {
			t.Errorf("window %d: %d staging requests in peaks", c.Window, c.Requests)
		}
	}
}

func TestTimelineYAML(t *testing.T) {
	got := DefaultScenario(1).TimelineYAML()
	golden := filepath.Join("testdata", "timeline_default.golden")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("timeline (-golden +got):\n%s", diff)
	}

	// It is YAML, and says what the scenario does.
	var tl struct {
		Distributions map[string]string
		Changes       []struct {
			At                   time.Time
			Role                 string
			CustomErrorResponses *bool `yaml:"custom_error_responses"`
			ContinuousDeployment *struct {
				Enabled bool
				Type    string
				Weight  float64
				Sticky  bool
			} `yaml:"continuous_deployment"`
		}
	}
	if err := yaml.Unmarshal(got, &tl); err != nil {
		t.Fatalf("timeline is not YAML: %v", err)
	}
	sc := DefaultScenario(1)
	if tl.Distributions["production"] != sc.Distributions.Production.ID || tl.Distributions["staging"] != sc.Distributions.Staging.ID {
		t.Errorf("distributions %v", tl.Distributions)
	}
	state := map[string]bool{}
	var cd int
	for _, c := range tl.Changes {
		if c.ContinuousDeployment != nil {
			cd++
			if c.ContinuousDeployment.Weight != sc.Weight || c.ContinuousDeployment.Type != "weighted" || !c.ContinuousDeployment.Enabled {
				t.Errorf("continuous deployment %+v", *c.ContinuousDeployment)
			}
			continue
		}
		state[c.Role] = *c.CustomErrorResponses
		// Replaying the changes up to each window start gives its state.
		for i, w := range sc.Windows {
			if c.At.Equal(w.Start) && state[c.Role] != w.CustomErrors.Of(c.Role) {
				t.Errorf("window %d %s: timeline says %t", i, c.Role, state[c.Role])
			}
		}
	}
	if cd != 1 {
		t.Errorf("%d continuous deployment entries, want 1", cd)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(*Scenario)
		wantErr string
	}{
		{name: "default is valid", edit: func(*Scenario) {}},
		{name: "start not on the hour", edit: func(s *Scenario) { s.Start = s.Start.Add(time.Minute) }, wantErr: "not a UTC hour"},
		{name: "bad distribution id", edit: func(s *Scenario) { s.Distributions.Staging.ID = "staging" }, wantErr: "staging distribution id"},
		{name: "same ids", edit: func(s *Scenario) { s.Distributions.Staging.ID = s.Distributions.Production.ID }, wantErr: "share the id"},
		{name: "probability above one", edit: func(s *Scenario) { s.Windows[1].P500.Staging = 1.5 }, wantErr: "window 1 staging p500"},
		{name: "windows out of order", edit: func(s *Scenario) { s.Windows[2].Start = s.Windows[1].Start }, wantErr: "window 2 does not start after"},
		{name: "first window late", edit: func(s *Scenario) { s.Windows[0].Start = s.Start.Add(time.Hour) }, wantErr: "first window"},
		{name: "peak not on hours", edit: func(s *Scenario) { s.Peaks[0].End = s.Peaks[0].End.Add(time.Minute) }, wantErr: "peak 0"},
		{name: "blank in a path", edit: func(s *Scenario) { s.ErrorPaths[0].Path = "/a b" }, wantErr: "error path"},
		{name: "no files", edit: func(s *Scenario) { s.FilesPerHour = 0 }, wantErr: "files per hour"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := DefaultScenario(1)
			tt.edit(s)
			err := s.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Validate: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("Validate = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestWriteDir(t *testing.T) {
	dir := t.TempDir()
	sc := DefaultScenario(0.05)
	sc.Hours = 3
	sc.Windows = sc.Windows[:1]
	tr, err := WriteDir(context.Background(), sc, dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range tr.Files {
		data, err := os.ReadFile(filepath.Join(dir, f.Name))
		if err != nil {
			t.Fatal(err)
		}
		if got := len(gunzipLines(t, f.Name, data)) - 2; got != f.Records {
			t.Errorf("%s: %d records, want %d", f.Name, got, f.Records)
		}
	}
	if len(tr.Files) == 0 {
		t.Error("no files written")
	}
}

// TestDefaultScenarioIsTheMotivatingCase pins the chosen probabilities of
// the default scenario to the case it reproduces.
func TestDefaultScenarioIsTheMotivatingCase(t *testing.T) {
	_, tr := generateMem(t, DefaultScenario(0.1))
	tests := []struct {
		name         string
		window       int
		role         string
		peak         bool
		customErrors bool
		p500         float64
	}{
		{"both off, production", 0, "production", false, false, 0},
		{"both off, staging", 0, "staging", false, false, 0},
		{"production only, production", 1, "production", false, true, 0},
		{"production only, staging", 1, "staging", false, false, 0.47},
		{"staging only, production", 2, "production", false, false, 0.13},
		{"staging only, staging", 2, "staging", false, true, 0},
		{"both on, production", 3, "production", false, true, 0.15},
		{"both on, staging", 3, "staging", false, true, 0.83},
		{"both on, production in peaks", 3, "production", true, true, 0},
		{"staging only, production in peaks", 2, "production", true, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, ok := tr.Cell(tt.window, tt.role, tt.peak)
			if !ok {
				t.Fatal("no such cell")
			}
			if c.CustomErrors != tt.customErrors || c.P500 != tt.p500 {
				t.Errorf("custom errors %t p500 %g, want %t %g", c.CustomErrors, c.P500, tt.customErrors, tt.p500)
			}
			if c.Requests == 0 {
				t.Error("no requests")
			}
		})
	}
	if _, ok := tr.Cell(9, "production", false); ok {
		t.Error("Cell found a window that does not exist")
	}
}

package loggen

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/klauspost/compress/gzip"
)

// CreateFunc opens a named output for writing; the name is a
// slash-separated object key (e.g. "E2QWRUHEXAMPLE.2025-09-10-08.1a2b3c4d.gz"
// or a v2 path). Generate calls it from one goroutine, one object at a
// time, and closes what it opens; an error from Close fails the run. It
// lets the demo upload to S3 and tests write to memory.
type CreateFunc func(name string) (io.WriteCloser, error)

// DirCreate returns a CreateFunc that writes files under dir, creating
// folders as needed.
func DirCreate(dir string) CreateFunc {
	return func(name string) (io.WriteCloser, error) {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, fmt.Errorf("create folder for %s: %w", name, err)
		}
		return os.Create(p)
	}
}

// Format is the output format of Generate.
type Format int

const (
	// Legacy is standard logging (legacy): gzip, #Version and #Fields
	// header, 33 TAB-separated fields, <ID>.YYYY-MM-DD-HH.<unique>.gz.
	Legacy Format = iota
	// V2JSON is standard logging v2 JSON lines (gzip).
	V2JSON
	// V2W3C is standard logging v2 W3C: a header naming the chosen fields,
	// then values with the chosen delimiter (gzip).
	V2W3C
	// V2Parquet is standard logging v2 Parquet.
	V2Parquet
)

func (f Format) String() string {
	switch f {
	case Legacy:
		return "legacy"
	case V2JSON:
		return "v2-json"
	case V2W3C:
		return "v2-w3c"
	case V2Parquet:
		return "v2-parquet"
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// Output says where and how Generate writes.
type Output struct {
	Create CreateFunc
	Format Format
	// Prefix is put before every object key (e.g. "cloudfront/"); for v2
	// it is the part before the partition folders.
	Prefix string
	// V2 configures the v2 formats; ignored for Legacy.
	V2 V2Options
}

// Truth is what Generate produced: the facts an analysis must recover.
type Truth struct {
	// Cells holds, per window, role and peak/off-peak, what was generated,
	// ordered by window, role (production first), then off-peak first.
	// Cells without requests are kept when the window has hours of that
	// kind.
	Cells []Cell
	// Hours holds per hour the requests of each distribution.
	Hours []HourTruth
	// PeakHours are the starts of the hours in which staging got no
	// traffic by the scenario's peaks.
	PeakHours []time.Time
	// Files lists the objects written, in writing order.
	Files []FileTruth
	// Records is the number of records (log lines that are not headers).
	Records int64
}

// Cell is one window × role × peak cell of the truth.
type Cell struct {
	Window     int
	Start, End time.Time // of the window
	Role       string
	Peak       bool
	// CustomErrors is the role's custom-error-response setting.
	CustomErrors bool
	// P500 is the chosen probability of 500 on error paths.
	P500 float64
	// Requests, ErrorPath (requests for error paths), Status500 (500s, all
	// on error paths), CustomErrorResponses (error-path requests answered
	// with the configured error page), ClientAborts (good-path requests
	// logged with sc-status 000).
	Requests, ErrorPath, Status500, CustomErrorResponses, ClientAborts int64
}

// Cell returns the cell of a window, role and peak flag; ok is false when
// the window had no hours of that kind.
func (t *Truth) Cell(window int, role string, peak bool) (c Cell, ok bool) {
	for _, c := range t.Cells {
		if c.Window == window && c.Role == role && c.Peak == peak {
			return c, true
		}
	}
	return Cell{}, false
}

// Rate500 returns the generated share of 500s among error-path requests.
func (c Cell) Rate500() float64 {
	if c.ErrorPath == 0 {
		return math.NaN()
	}
	return float64(c.Status500) / float64(c.ErrorPath)
}

// HourTruth is the traffic of one hour.
type HourTruth struct {
	Start               time.Time
	Production, Staging int64
	Peak                bool
}

// StagingShare returns the share of the hour's requests sent to staging.
func (h HourTruth) StagingShare() float64 {
	if h.Production+h.Staging == 0 {
		return 0
	}
	return float64(h.Staging) / float64(h.Production+h.Staging)
}

// FileTruth is one object written.
type FileTruth struct {
	Name           string
	DistributionID string
	Role           string
	Hour           time.Time
	Records        int
}

// cellIndex finds the cell of a window, role and peak flag.
func cellIndex(window, role int, peak bool) int {
	i := window*4 + role*2
	if peak {
		i++
	}
	return i
}

// Generate writes the scenario's logs through out and returns what it
// wrote. Hours are generated in order, each from its own random stream
// seeded by the scenario's seed and the hour, so the output is the same
// on every run.
func Generate(ctx context.Context, sc *Scenario, out Output) (*Truth, error) {
	if err := sc.Validate(); err != nil {
		return nil, err
	}
	if out.Create == nil {
		return nil, fmt.Errorf("generate: no output")
	}
	w, err := newFileWriter(out)
	if err != nil {
		return nil, err
	}
	m := newModel(sc)
	tr := &Truth{Cells: make([]Cell, 4*len(sc.Windows))}
	for wi, win := range sc.Windows {
		for role := range 2 {
			for _, peak := range []bool{false, true} {
				p := win.P500.at(role)
				if peak && role == 0 {
					p = sc.PeakP500
				}
				tr.Cells[cellIndex(wi, role, peak)] = Cell{
					Window: wi, Start: win.Start, End: sc.WindowEnd(wi),
					Role: roleName(role), Peak: peak,
					CustomErrors: win.CustomErrors.at(role), P500: p,
				}
			}
		}
	}
	hasKind := make([]bool, len(tr.Cells))
	mean := profileMean(sc.Profile)
	var hb hourBuffers
	for h := range sc.Hours {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		start := sc.Start.Add(time.Duration(h) * time.Hour)
		wi := sc.windowAt(start)
		win := sc.Windows[wi]
		peak := sc.IsPeak(start)
		hasKind[cellIndex(wi, 0, peak)] = true
		hasKind[cellIndex(wi, 1, peak)] = true
		share := sc.WeightAt(wi)
		if peak {
			share = 0
			tr.PeakHours = append(tr.PeakHours, start)
		}
		r := rand.New(rand.NewPCG(sc.Seed, uint64(h)+1))
		// The volume varies by ±10% around the profile.
		n := int(math.Round(sc.RequestsPerHour * sc.Profile[start.Hour()] / mean * (0.9 + 0.2*r.Float64())))
		hb.reset()
		ht := HourTruth{Start: start, Peak: peak}
		for range n {
			ts := start.UnixMilli() + r.Int64N(int64(time.Hour/time.Millisecond))
			role := 0
			if r.Float64() < share {
				role = 1
			}
			st := state{customErrors: win.CustomErrors.at(role), p500: win.P500.at(role)}
			if peak && role == 0 {
				st.p500 = sc.PeakP500
			}
			dist := sc.Distributions.Production
			if role == 1 {
				dist = sc.Distributions.Staging
				ht.Staging++
			} else {
				ht.Production++
			}
			o := m.addRecord(&hb.roles[role], r, ts, dist.Domain, st)
			c := &tr.Cells[cellIndex(wi, role, peak)]
			c.Requests++
			switch o {
			case outAbort:
				c.ClientAborts++
			case outError500:
				c.ErrorPath++
				c.Status500++
			case outErrorCustom:
				c.ErrorPath++
				c.CustomErrorResponses++
			case outErrorPlain:
				c.ErrorPath++
			}
		}
		tr.Hours = append(tr.Hours, ht)
		tr.Records += int64(n)
		for role := range 2 {
			dist := sc.Distributions.Production
			if role == 1 {
				dist = sc.Distributions.Staging
			}
			files, err := w.writeHour(ctx, r, &hb.roles[role], dist.ID, roleName(role), start, sc.FilesPerHour)
			if err != nil {
				return nil, err
			}
			tr.Files = append(tr.Files, files...)
		}
	}
	// Drop the cells of kinds (peak or off-peak) that a window never had.
	cells := tr.Cells[:0]
	for i, c := range tr.Cells {
		if hasKind[i] {
			cells = append(cells, c)
		}
	}
	tr.Cells = cells
	return tr, nil
}

// lines holds the records of one distribution and hour in one buffer.
type lines struct {
	buf   []byte
	ends  []int   // end offset of each record in buf
	ts    []int64 // timestamp of each record
	trail []bool  // the record's legacy line ends with an extra TAB
}

func (l *lines) reset() {
	l.buf, l.ends, l.ts, l.trail = l.buf[:0], l.ends[:0], l.ts[:0], l.trail[:0]
}

func (l *lines) len() int { return len(l.ends) }

func (l *lines) line(i int) []byte {
	start := 0
	if i > 0 {
		start = l.ends[i-1]
	}
	return l.buf[start:l.ends[i]]
}

type hourBuffers struct {
	roles [2]lines
}

func (h *hourBuffers) reset() {
	h.roles[0].reset()
	h.roles[1].reset()
}

// split assigns the records of one distribution and hour to between 1 and
// maxFiles files and orders each file loosely by time: CloudFront's files
// are roughly, not strictly, in time order, and an hour's records can
// arrive in more than one file. It returns the record indexes of each file.
func split(r *rand.Rand, l *lines, maxFiles int) [][]int {
	n := l.len()
	if n == 0 {
		return nil
	}
	k := min(1+r.IntN(maxFiles), n)
	files := make([][]int, k)
	keys := make([]int64, n)
	for i := range n {
		f := 0
		if k > 1 {
			// The first file takes the bulk; the others the stragglers.
			if r.IntN(3) > 0 {
				f = 0
			} else {
				f = r.IntN(k)
			}
		}
		files[f] = append(files[f], i)
		keys[i] = l.ts[i] + r.Int64N(60_000) - 30_000 // up to 30 s out of order
	}
	for _, f := range files {
		slices.SortStableFunc(f, func(a, b int) int {
			switch {
			case keys[a] < keys[b]:
				return -1
			case keys[a] > keys[b]:
				return 1
			}
			return 0
		})
	}
	// A file never ends up empty: give it a record from the first file.
	for i := 1; i < k; i++ {
		if len(files[i]) == 0 && len(files[0]) > 1 {
			files[i] = append(files[i], files[0][len(files[0])-1])
			files[0] = files[0][:len(files[0])-1]
		}
	}
	out := files[:0]
	for _, f := range files {
		if len(f) > 0 {
			out = append(out, f)
		}
	}
	return out
}

// appendHex8 appends eight lower-case hex digits, the unique part of a
// file name.
func appendHex8(b []byte, r *rand.Rand) []byte {
	const hex = "0123456789abcdef"
	x := r.Uint32()
	for i := 28; i >= 0; i -= 4 {
		b = append(b, hex[(x>>i)&15])
	}
	return b
}

// legacyName returns <ID>.YYYY-MM-DD-HH.<8 hex>.gz.
func legacyName(r *rand.Rand, id string, hour time.Time) string {
	b := make([]byte, 0, len(id)+28)
	b = append(b, id...)
	b = hour.UTC().AppendFormat(b, ".2006-01-02-15.")
	b = appendHex8(b, r)
	b = append(b, ".gz"...)
	return string(b)
}

// fileWriter writes the files of one format.
type fileWriter struct {
	out Output
	gz  *gzip.Writer
	v2  *v2Writer
}

func newFileWriter(out Output) (*fileWriter, error) {
	w := &fileWriter{out: out, gz: gzip.NewWriter(io.Discard)}
	if out.Format != Legacy {
		v2, err := newV2Writer(out.Format, out.V2)
		if err != nil {
			return nil, err
		}
		w.v2 = v2
	}
	return w, nil
}

// writeHour writes the records of one distribution and hour.
func (w *fileWriter) writeHour(ctx context.Context, r *rand.Rand, l *lines, id, role string, hour time.Time, maxFiles int) ([]FileTruth, error) {
	var files []FileTruth
	for _, idx := range split(r, l, maxFiles) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		base := legacyName(r, id, hour)
		var name string
		var err error
		if w.v2 != nil {
			name = w.out.Prefix + w.v2.key(id, hour, base)
			err = w.writeObject(name, func(dst io.Writer) error { return w.v2.write(dst, l, idx) })
		} else {
			name = w.out.Prefix + base
			err = w.writeObject(name, func(dst io.Writer) error { return writeLegacy(dst, l, idx) })
		}
		if err != nil {
			return nil, err
		}
		files = append(files, FileTruth{Name: name, DistributionID: id, Role: role, Hour: hour, Records: len(idx)})
	}
	return files, nil
}

// writeObject creates name and fills it with body, gzip-compressed unless
// the format compresses itself.
func (w *fileWriter) writeObject(name string, body func(io.Writer) error) (err error) {
	f, err := w.out.Create(name)
	if err != nil {
		return fmt.Errorf("create %s: %w", name, err)
	}
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close %s: %w", name, cerr)
		}
	}()
	if w.v2 != nil && !w.v2.gzip() {
		if err := body(f); err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
		return nil
	}
	w.gz.Reset(f)
	if err := body(w.gz); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := w.gz.Close(); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

// writeLegacy writes the header and the records idx of l.
func writeLegacy(dst io.Writer, l *lines, idx []int) error {
	buf := make([]byte, 0, 64<<10)
	buf = append(buf, LegacyHeader()...)
	for _, i := range idx {
		buf = append(buf, l.line(i)...)
		if l.trail[i] {
			buf = append(buf, '\t')
		}
		buf = append(buf, '\n')
		if len(buf) >= 60<<10 {
			if _, err := dst.Write(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
	_, err := dst.Write(buf)
	return err
}

// WriteDir generates the scenario as legacy files in dir.
func WriteDir(ctx context.Context, sc *Scenario, dir string) (*Truth, error) {
	return Generate(ctx, sc, Output{Create: DirCreate(dir)})
}

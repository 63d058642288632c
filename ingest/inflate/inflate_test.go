package inflate

import (
	"bytes"
	stdflate "compress/flate"
	stdgzip "compress/gzip"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"

	kflate "github.com/klauspost/compress/flate"
	kgzip "github.com/klauspost/compress/gzip"
)

// sampleText is log-like text: repeated fields with varying parts, the
// mix of literals and matches that CloudFront logs give.
func sampleText(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	words := []string{"GET", "POST", "/index.html", "/api/v1/items", "Hit", "Miss", "Error", "200", "404", "500", "Mozilla/5.0%20(X11)", "-", "https", "TLSv1.3"}
	var b bytes.Buffer
	for b.Len() < n {
		for range 12 {
			if r.IntN(5) == 0 {
				fmt.Fprintf(&b, "%x", r.Uint64())
			} else {
				b.WriteString(words[r.IntN(len(words))])
			}
			b.WriteByte('\t')
		}
		b.WriteByte('\n')
	}
	return b.Bytes()[:n]
}

// randomBytes is incompressible.
func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 2))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// inputs are texts that exercise every block type and match form.
func inputs() map[string][]byte {
	runs := bytes.Repeat([]byte("a"), 100000)
	short := bytes.Repeat([]byte("abcabd"), 50000)
	return map[string][]byte{
		"empty":  nil,
		"byte":   []byte("x"),
		"text":   sampleText(1<<20, 1),
		"random": randomBytes(300000, 3),
		"runs":   runs,
		"short":  short,
		"mixed":  append(append(sampleText(70000, 4), randomBytes(70000, 5)...), runs...),
	}
}

// deflateWith compresses b at level with a DEFLATE writer of newWriter
// (compress/flate's or klauspost/compress's NewWriter).
func deflateWith[W io.WriteCloser](t testing.TB, newWriter func(io.Writer, int) (W, error), b []byte, level int) []byte {
	var out bytes.Buffer
	w, err := newWriter(&out, level)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(b)
	w.Close()
	return out.Bytes()
}

func TestDeflateMatchesCompressors(t *testing.T) {
	for name, text := range inputs() {
		for _, level := range []int{stdflate.HuffmanOnly, stdflate.NoCompression, 1, 5, 9} {
			for _, c := range []struct {
				lib string
				z   []byte
			}{{"std", deflateWith(t, stdflate.NewWriter, text, level)}, {"klauspost", deflateWith(t, kflate.NewWriter, text, level)}} {
				for _, rd := range []struct {
					name string
					wrap func(io.Reader) io.Reader
				}{{"whole", func(r io.Reader) io.Reader { return r }}, {"byte at a time", iotest.OneByteReader}, {"half", iotest.HalfReader}} {
					got, err := io.ReadAll(NewDeflateReader(rd.wrap(bytes.NewReader(c.z))))
					if err != nil {
						t.Fatalf("%s %s level %d %s: %v", name, c.lib, level, rd.name, err)
					}
					if !bytes.Equal(got, text) {
						t.Fatalf("%s %s level %d %s: %d bytes differ from the %d written", name, c.lib, level, rd.name, len(got), len(text))
					}
				}
			}
		}
	}
}

func TestGzipMembersAndChecks(t *testing.T) {
	a, b := sampleText(200000, 7), sampleText(1000, 8)
	var z bytes.Buffer
	for _, text := range [][]byte{a, b} {
		w := stdgzip.NewWriter(&z)
		w.Name, w.Comment, w.Extra = "a.log", "two members", []byte{1, 2, 3}
		w.Write(text)
		w.Close()
	}
	zr, err := NewReader(bytes.NewReader(z.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if want := append(append([]byte{}, a...), b...); !bytes.Equal(got, want) {
		t.Fatalf("got %d bytes, want the %d of both members", len(got), len(want))
	}

	bad := bytes.Clone(z.Bytes())
	bad[len(bad)-6] ^= 1 // the last member's CRC
	zr, _ = NewReader(bytes.NewReader(bad))
	if _, err := io.ReadAll(zr); !errors.Is(err, ErrChecksum) {
		t.Errorf("corrupt CRC: err = %v, want ErrChecksum", err)
	}
	zr, _ = NewReader(bytes.NewReader(z.Bytes()[:z.Len()-100]))
	if _, err := io.ReadAll(zr); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("truncated: err = %v, want io.ErrUnexpectedEOF", err)
	}
	if _, err := NewReader(bytes.NewReader([]byte("plain text"))); !errors.Is(err, ErrHeader) {
		t.Errorf("not gzip: err = %v, want ErrHeader", err)
	}
	if _, err := NewReader(bytes.NewReader(nil)); err != io.EOF {
		t.Errorf("empty: err = %v, want io.EOF", err)
	}
	if _, err := NewReader(bytes.NewReader(z.Bytes()[:5])); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("header cut short: err = %v, want io.ErrUnexpectedEOF", err)
	}
	// Trailing bytes that are not a member are an error, as in compress/gzip.
	zr, _ = NewReader(io.MultiReader(bytes.NewReader(z.Bytes()), bytes.NewReader([]byte("junk after the members"))))
	if _, err := io.ReadAll(zr); !errors.Is(err, ErrHeader) {
		t.Errorf("trailing junk: err = %v, want ErrHeader", err)
	}
}

// TestGzipLongName checks that file names and comments are taken up to
// the length compress/gzip takes, and refused beyond it, as it does.
func TestGzipLongName(t *testing.T) {
	for _, n := range []int{maxHeaderString - 1, maxHeaderString} {
		for _, comment := range []bool{false, true} {
			// compress/gzip's writer takes any length; its reader refuses
			// strings of maxHeaderString bytes or more.
			var z bytes.Buffer
			w := stdgzip.NewWriter(&z)
			if comment {
				w.Comment = strings.Repeat("c", n)
			} else {
				w.Name = strings.Repeat("n", n)
			}
			w.Write([]byte("text"))
			w.Close()
			_, wantErr := stdgzip.NewReader(bytes.NewReader(z.Bytes()))
			_, err := NewReader(bytes.NewReader(z.Bytes()))
			if (err == nil) != (wantErr == nil) {
				t.Errorf("%d bytes, comment %v: err = %v, compress/gzip %v", n, comment, err, wantErr)
			}
			if n == maxHeaderString && !errors.Is(err, ErrHeader) {
				t.Errorf("%d bytes, comment %v: err = %v, want ErrHeader", n, comment, err)
			}
		}
	}
}

// stalled returns no bytes and no error, forever.
type stalled struct{}

func (stalled) Read([]byte) (int, error) { return 0, nil }

func TestStalledSourceEnds(t *testing.T) {
	z := deflateWith(t, stdflate.NewWriter, sampleText(1000, 11), 5)
	_, err := io.ReadAll(NewDeflateReader(io.MultiReader(bytes.NewReader(z[:len(z)/2]), stalled{})))
	if !errors.Is(err, io.ErrNoProgress) {
		t.Errorf("err = %v, want io.ErrNoProgress", err)
	}
}

// FuzzDeflate checks that any input inflates to what compress/flate
// gives, or fails where it fails.
func FuzzDeflate(f *testing.F) {
	for _, text := range inputs() {
		if len(text) > 20000 {
			text = text[:20000]
		}
		f.Add(deflateWith(f, stdflate.NewWriter, text, 1))
		f.Add(deflateWith(f, stdflate.NewWriter, text, 9))
		f.Add(deflateWith(f, kflate.NewWriter, text, 5))
		f.Add(deflateWith(f, stdflate.NewWriter, text, stdflate.HuffmanOnly))
	}
	f.Fuzz(func(t *testing.T, z []byte) {
		want, wantErr := io.ReadAll(io.LimitReader(stdflate.NewReader(bytes.NewReader(z)), 1<<20))
		got, gotErr := io.ReadAll(io.LimitReader(NewDeflateReader(bytes.NewReader(z)), 1<<20))
		if (wantErr == nil) != (gotErr == nil) {
			t.Fatalf("compress/flate err %v, here %v", wantErr, gotErr)
		}
		if wantErr == nil && !bytes.Equal(got, want) {
			t.Fatalf("%d bytes, compress/flate %d", len(got), len(want))
		}
	})
}

func benchCorpus(b *testing.B) []byte {
	if dir := os.Getenv("INFLATE_CORPUS"); dir != "" {
		names, _ := filepath.Glob(filepath.Join(dir, "*.gz"))
		var all []byte
		for _, n := range names[:min(len(names), 10)] {
			z, err := os.ReadFile(n)
			if err != nil {
				b.Fatal(err)
			}
			all = append(all, z...)
		}
		return all
	}
	var z bytes.Buffer
	w := kgzip.NewWriter(&z)
	w.Write(sampleText(8<<20, 9))
	w.Close()
	return z.Bytes()
}

// BenchmarkInflate compares this package with klauspost/compress on the
// same gzip data.
func BenchmarkInflate(b *testing.B) {
	z := benchCorpus(b)
	buf := make([]byte, 64<<10)
	run := func(b *testing.B, open func(io.Reader) (io.Reader, error)) {
		var n int64
		for b.Loop() {
			r, err := open(bytes.NewReader(z))
			if err != nil {
				b.Fatal(err)
			}
			n, err = io.CopyBuffer(io.Discard, struct{ io.Reader }{r}, buf)
			if err != nil {
				b.Fatal(err)
			}
		}
		b.SetBytes(n)
	}
	b.Run("klauspost", func(b *testing.B) {
		run(b, func(r io.Reader) (io.Reader, error) { return kgzip.NewReader(r) })
	})
	b.Run("inflate", func(b *testing.B) {
		run(b, func(r io.Reader) (io.Reader, error) { return NewReader(r) })
	})
}

// FuzzGzip checks headers, trailers and members against compress/gzip.
func FuzzGzip(f *testing.F) {
	var two bytes.Buffer
	for i, text := range [][]byte{sampleText(5000, 10), []byte("second member\n")} {
		w := stdgzip.NewWriter(&two)
		if i == 0 {
			w.Name, w.Comment, w.Extra = "a.log", "c", []byte{9}
		}
		w.Write(text)
		w.Close()
	}
	f.Add(two.Bytes())
	f.Add(two.Bytes()[:two.Len()-3])
	f.Add([]byte{0x1f, 0x8b, 8, 2, 0, 0, 0, 0, 0, 255, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, z []byte) {
		var want []byte
		wr, wantErr := stdgzip.NewReader(bytes.NewReader(z))
		if wantErr == nil {
			want, wantErr = io.ReadAll(io.LimitReader(wr, 1<<20))
		}
		var got []byte
		gr, gotErr := NewReader(bytes.NewReader(z))
		if gotErr == nil {
			got, gotErr = io.ReadAll(io.LimitReader(gr, 1<<20))
		}
		if (wantErr == nil) != (gotErr == nil) {
			t.Fatalf("compress/gzip err %v, here %v", wantErr, gotErr)
		}
		if wantErr == nil && !bytes.Equal(got, want) {
			t.Fatalf("%d bytes, compress/gzip %d", len(got), len(want))
		}
	})
}

// TestMemoryFlat checks that inflating allocates the same whatever the
// size of the data: the buffers are fixed.
func TestMemoryFlat(t *testing.T) {
	allocated := func(n int) uint64 {
		var z bytes.Buffer
		w := kgzip.NewWriter(&z)
		w.Write(sampleText(n, 12))
		w.Close()
		buf := make([]byte, 32<<10)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		r, err := NewReader(bytes.NewReader(z.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{r}, buf); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc
	}
	small, large := allocated(1<<20), allocated(16<<20)
	if large > small+64<<10 {
		t.Errorf("inflating 16 MiB allocated %d bytes, 1 MiB %d: memory grows with the data", large, small)
	}
}

// TestReset: a Reader reset onto another stream reads it as a new one
// would, also after a stream that failed half way, and reads nothing
// after Close.
func TestReset(t *testing.T) {
	gz := func(text []byte) []byte {
		var z bytes.Buffer
		w := stdgzip.NewWriter(&z)
		w.Write(text)
		w.Close()
		return z.Bytes()
	}
	a, b := sampleText(300000, 3), sampleText(5000, 4)
	za, zb := gz(a), gz(b)
	bad := bytes.Clone(za)
	bad[len(bad)/2] ^= 0x55
	z := new(Reader)
	for i, tc := range []struct {
		in   []byte
		want []byte // nil: an error
	}{
		{za, a}, {zb, b}, {bad, nil}, {zb, b}, {za[:len(za)/3], nil}, {za, a},
	} {
		if err := z.Reset(bytes.NewReader(tc.in)); err != nil {
			t.Fatalf("stream %d: Reset: %v", i, err)
		}
		got, err := io.ReadAll(z)
		if tc.want == nil {
			if err == nil {
				t.Errorf("stream %d: no error for a damaged stream", i)
			}
			continue
		}
		if err != nil || !bytes.Equal(got, tc.want) {
			t.Errorf("stream %d: %d bytes, err %v; want the %d bytes", i, len(got), err, len(tc.want))
		}
	}
	if err := z.Reset(bytes.NewReader(za)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 10)
	if _, err := io.ReadFull(z, buf); err != nil {
		t.Fatal(err)
	}
	z.Close()
	if n, err := z.Read(buf); n != 0 || !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %d bytes, err %v; want 0, ErrClosed", n, err)
	}
}

// TestDecompress: plain text passes through, gzip (several members) is
// inflated, and the limit tells an object that ends at it from one that
// goes past it.
func TestDecompress(t *testing.T) {
	text := sampleText(1<<16, 7)
	var gz bytes.Buffer
	for _, half := range [][]byte{text[:1<<15], text[1<<15:]} {
		zw := stdgzip.NewWriter(&gz)
		zw.Write(half)
		zw.Close()
	}
	tests := []struct {
		name    string
		in      []byte
		limit   int64
		wantErr error
	}{
		{"plain", text, 0, nil},
		{"gzip, two members", gz.Bytes(), 0, nil},
		{"gzip, at the limit", gz.Bytes(), int64(len(text)), nil},
		{"gzip, past the limit", gz.Bytes(), int64(len(text)) - 1, ErrTooLarge},
		{"plain, past the limit", text, 1000, ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc, err := Decompress(bytes.NewReader(tt.in), tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(rc)
			rc.Close()
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr == nil && !bytes.Equal(got, text) {
				t.Errorf("got %d bytes, want the %d bytes of text", len(got), len(text))
			}
			if _, err := rc.Read(make([]byte, 1)); err == nil {
				t.Error("read after Close succeeded")
			}
		})
	}
	if _, err := Decompress(bytes.NewReader([]byte{0x1f, 0x8b, 7, 0, 0, 0, 0, 0, 0, 0xff}), 0); !errors.Is(err, ErrHeader) {
		t.Errorf("bad gzip header: err = %v, want %v", err, ErrHeader)
	}
}

// TestPairLiterals: after pairing, every first-level entry of a
// literal/length table decodes what one or two lookups in the table
// before pairing decode, and a literal is left single only when the next
// codeword does not fit in the entry's bits or is not a literal.
func TestPairLiterals(t *testing.T) {
	skewed := make([]uint8, 286)
	for i := range 14 { // 14 literals of 4 bits, 32 symbols of 8: a complete code
		skewed['a'+i] = 4
	}
	for i := range 31 {
		skewed['A'+i] = 8
	}
	skewed[256] = 8
	fixed := make([]uint8, 288) // RFC 1951, section 3.2.6
	for i := range fixed {
		switch {
		case i < 144, i >= 280:
			fixed[i] = 8
		case i < 256:
			fixed[i] = 9
		default:
			fixed[i] = 7
		}
	}
	for name, lengths := range map[string][]uint8{"skewed": skewed, "fixed": fixed} {
		var orig [litlenTableSize]uint32
		if _, err := buildTable(orig[:], lengths, litlenBits, litlenEntry); err != nil {
			t.Fatal(name, err)
		}
		paired := orig
		pairLiterals(paired[:1<<litlenBits])
		pairs := 0
		for i, e := range paired[:1<<litlenBits] {
			o := orig[i]
			n1 := o & 31
			fits := o&kindLiteral != 0 && n1 < litlenBits &&
				orig[i>>n1]&kindLiteral != 0 && n1+orig[i>>n1]&31 <= litlenBits
			if e&kindPair == 0 {
				if e != o || fits {
					t.Fatalf("%s: entry %d is %#x, was %#x, pairable %v", name, i, e, o, fits)
				}
				continue
			}
			pairs++
			o2 := orig[i>>n1]
			want := kindLiteral | kindPair | (o2>>16&0xff)<<24 | (o>>16&0xff)<<16 | n1<<8 | (n1 + o2&31)
			if !fits || e != want || single(e) != o {
				t.Fatalf("%s: entry %d is %#x, want %#x from %#x and %#x", name, i, e, want, o, o2)
			}
		}
		if wantPairs := name == "skewed"; (pairs > 0) != wantPairs {
			t.Errorf("%s: %d pairs", name, pairs)
		}
	}
}

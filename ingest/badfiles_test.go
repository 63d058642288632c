package ingest_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/cflens/cflens/ingest"
	"github.com/cflens/cflens/ingest/dirsource"
	"github.com/cflens/cflens/ingest/logparse"
)

const goodLine = "2025-09-10\t08:00:00\t200\t/ok\n"

// TestBadFiles puts one good file and one of each kind of bad file in a
// folder: the run reads the good rows, names every bad file (and line)
// with what is wrong, and keeps the line counts balanced.
func TestBadFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	good := gz(t, header+strings.Repeat(goodLine, 100))
	write("E1EXAMPLE.2025-09-10-08.good.gz", good)
	write("E1EXAMPLE.2025-09-10-08.truncated.gz", good[:len(good)/2])
	write("E1EXAMPLE.2025-09-10-08.empty.gz", nil)
	random := make([]byte, 4096)
	rand.Read(random)
	write("E1EXAMPLE.2025-09-10-08.notgzip.gz", random)
	var bomb bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&bomb, gzip.BestCompression)
	zw.Write([]byte(header))
	zeros := make([]byte, 1<<20)
	for i := 0; i < 64; i++ { // 64 MiB of zeros: a few dozen KiB compressed
		zw.Write(zeros)
	}
	zw.Close()
	write("E1EXAMPLE.2025-09-10-08.bomb.gz", bomb.Bytes())
	write("E1EXAMPLE.2025-09-10-08.longline.gz", gz(t, header+"2025-09-10\t08:00:00\t200\t/"+strings.Repeat("a", 1<<20)+"\n"+goodLine))
	write("E1EXAMPLE.2025-09-10-08.utf8.gz", gz(t, header+"2025-09-10\t08:00:00\t200\t/\xff\xfe\n"+goodLine))
	write("E1EXAMPLE.2025-09-10-08.nul.gz", gz(t, header+"2025-09-10\t08:00:00\t200\t/a\x00b\n"+goodLine))
	write("E1EXAMPLE.2025-09-10-08.unknownfield.gz", gz(t, "#Version: 1.0\n#Fields: date time x-brand-new sc-status cs-uri-stem\n2025-09-10\t08:00:00\tz\t200\t/x\n"))
	write("E1EXAMPLE.2025-09-10-08.crlf.gz", gz(t, strings.ReplaceAll(header+goodLine+goodLine, "\n", "\r\n")))

	src, err := dirsource.New(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	opts := ingest.DefaultOptions()
	opts.MaxObjectBytes = 32 << 20 // the bomb inflates to 64 MiB
	opts.Backoff = time.Millisecond
	opts.MaxRejectRate = -1
	sink := newCountingSink()
	sum, err := ingest.Run(context.Background(), opts, []ingest.Source{src}, sink)
	if !errors.Is(err, ingest.ErrIncomplete) {
		t.Fatalf("err = %v, want ErrIncomplete (unreadable objects)", err)
	}
	if !sum.Balanced() {
		t.Errorf("unbalanced: %+v", sum.Counts)
	}
	failed := map[string]string{}
	for _, f := range sum.Failed {
		failed[filepath.Base(f.Object)] = f.Error
		// A local file reads the same bytes every time: none is read
		// again.
		if f.Attempts != 1 {
			t.Errorf("%s: given up after %d attempts, want 1", filepath.Base(f.Object), f.Attempts)
		}
	}
	if e := failed["E1EXAMPLE.2025-09-10-08.truncated.gz"]; !strings.Contains(e, "truncated.gz") || !strings.Contains(e, "unexpected EOF") {
		t.Errorf("truncated gzip: %q", e)
	}
	if e := failed["E1EXAMPLE.2025-09-10-08.bomb.gz"]; !strings.Contains(e, logparse.ErrTooLarge.Error()) {
		t.Errorf("gzip bomb: %q", e)
	}
	if len(failed) != 2 {
		t.Errorf("failed objects %v, want the truncated one and the bomb", failed)
	}
	// Rows: 100 good + 1 each from longline, utf8, nul, unknownfield, 2 crlf.
	if want := int64(100 + 1 + 1 + 1 + 1 + 2); sum.Rows != want || sink.total() != want {
		t.Errorf("rows %d (sink %d), want %d", sum.Rows, sink.total(), want)
	}
	for reason, wantFile := range map[string]string{
		logparse.ReasonLineTooLong:  "longline.gz",
		logparse.ReasonInvalidBytes: "utf8.gz",
	} {
		rr := sum.RejectedByReason[reason]
		if rr == nil || len(rr.Samples) == 0 {
			t.Errorf("no %s rejects", reason)
			continue
		}
		found := false
		for _, s := range rr.Samples {
			if strings.HasSuffix(s.Object, wantFile) && s.Line == 3 {
				found = true
			}
		}
		if !found {
			t.Errorf("%s samples %+v lack %s line 3", reason, rr.Samples, wantFile)
		}
	}
	if sum.RejectedByReason[logparse.ReasonInvalidBytes].Count < 3 { // utf8, nul and the random bytes
		t.Errorf("invalid bytes: %+v", sum.RejectedByReason[logparse.ReasonInvalidBytes])
	}
	if sum.UnknownFields["x-brand-new"] != 1 {
		t.Errorf("unknown fields %v", sum.UnknownFields)
	}
}

func (s *countingSink) total() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	for _, v := range s.committed {
		n += v
	}
	return n
}

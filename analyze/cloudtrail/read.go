package cloudtrail

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path"
	"regexp"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/cflens/cflens/analyze"
	"github.com/cflens/cflens/ingest"
	"github.com/cflens/cflens/ingest/inflate"
)

// Options say which distributions to follow and which part of the record
// to read.
type Options struct {
	// Production and Staging are the distribution IDs of the two roles.
	// Either may be empty when the record tells it (a promotion or a copy
	// names the other half of the pair).
	Production string
	Staging    string
	// Distributions are more IDs whose role is read from the record: a
	// staging flag in the configuration, a policy named, a promotion.
	Distributions []string
	// From and To bound the event times taken, [From, To); zero ends are
	// open. Files named for a delivery time well outside are not read.
	From, To time.Time
	// Workers is the number of files read at once.
	Workers int
	// MaxBytes limits the decompressed size of one file (0: the parser's
	// default).
	MaxBytes int64
	// Logger receives a line per file that fails; nil discards them.
	Logger *slog.Logger
}

// DefaultOptions returns the options used when a field is left zero.
func DefaultOptions() Options {
	return Options{Workers: 8}
}

// Report tells what was read and what was left out.
type Report struct {
	// Files were read; SkippedFiles were listed but are not CloudTrail log
	// files (digests, other files) or were delivered well outside the
	// time range.
	Files        int64 `json:"files"`
	SkippedFiles int64 `json:"skipped_files"`
	Records      int64 `json:"records"`
	// MalformedRecords were valid JSON but not records.
	MalformedRecords int64 `json:"malformed_records"`
	// CloudFrontEvents are the records of the operations the timeline uses,
	// for any distribution, second deliveries included.
	CloudFrontEvents int64 `json:"cloudfront_events"`
	// Duplicates are second deliveries of an event ID.
	Duplicates int64 `json:"duplicates"`
	// Relevant events concern the followed distributions and policies and
	// were applied; OtherDistributions concern others; OutOfRange fell
	// outside [From, To).
	Relevant           int64 `json:"relevant"`
	OtherDistributions int64 `json:"other_distributions"`
	OutOfRange         int64 `json:"out_of_range"`
	// Failed are calls that CloudTrail recorded with an errorCode: they
	// changed nothing and are skipped.
	Failed []FailedCall `json:"failed"`
	// Unknown are events whose shape the timeline could not read.
	Unknown []UnknownEvent `json:"unknown"`
	// FileErrors are files that could not be read whole; the timeline may
	// miss their events.
	FileErrors []FileError `json:"file_errors"`
	// Production, Staging and Policies are the IDs the timeline follows.
	Production string   `json:"production"`
	Staging    string   `json:"staging"`
	Policies   []string `json:"policies"`
	Changes    int      `json:"changes"`
}

// FailedCall is a skipped call that failed.
type FailedCall struct {
	EventID      string    `json:"event_id"`
	EventName    string    `json:"event_name"`
	Time         time.Time `json:"time"`
	Resource     string    `json:"resource"`
	ErrorCode    string    `json:"error_code"`
	ErrorMessage string    `json:"error_message"`
}

// UnknownEvent is an event the timeline could not read.
type UnknownEvent struct {
	EventID   string    `json:"event_id"`
	EventName string    `json:"event_name"`
	Time      time.Time `json:"time"`
	File      string    `json:"file"`
	Reason    string    `json:"reason"`
}

// FileError is a file that could not be read.
type FileError struct {
	File  string `json:"file"`
	Error string `json:"error"`
}

// ErrIncomplete wraps ingest.ErrIncomplete: some files could not be read.
var ErrIncomplete = fmt.Errorf("cloudtrail files unread: %w", ingest.ErrIncomplete)

// ErrNoDistribution is returned when no distribution is given.
var ErrNoDistribution = errors.New("no distribution given")

// fileTimeRE finds the delivery time in a CloudTrail file name:
// <account>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<unique>.json.gz.
// https://docs.aws.amazon.com/awscloudtrail/latest/userguide/get-and-view-cloudtrail-log-files.html
var fileTimeRE = regexp.MustCompile(`_(\d{8}T\d{4}Z)_`)

// isLogFile reports whether a key names a CloudTrail log file: JSON,
// possibly gzipped, and not a digest.
func isLogFile(key string) bool {
	if strings.Contains(key, "CloudTrail-Digest") {
		return false
	}
	base := strings.ToLower(path.Base(key))
	return strings.HasSuffix(base, ".json") || strings.HasSuffix(base, ".json.gz") || strings.HasSuffix(base, ".gz")
}

// deliveredInRange reports whether a file named for its delivery time may
// hold events in [from, to): CloudTrail delivers events minutes after the
// call, so a file delivered before from cannot, and one delivered a day
// after to is not expected to.
func deliveredInRange(key string, from, to time.Time) bool {
	m := fileTimeRE.FindStringSubmatch(path.Base(key))
	if m == nil {
		return true
	}
	t, err := time.Parse("20060102T1504Z", m[1])
	if err != nil {
		return true
	}
	if !from.IsZero() && t.Before(from.Add(-time.Hour)) {
		return false
	}
	if !to.IsZero() && t.After(to.Add(24*time.Hour)) {
		return false
	}
	return true
}

type fileRef struct {
	src ingest.Source
	ref ingest.ObjectRef
}

type fileResult struct {
	records, malformed int64
	firstMalformed     string
	events             []event
	unknown            []UnknownEvent
	err                error
}

// Read reads the CloudTrail files of the sources and builds the timeline
// of the distributions in opts. The report is returned with the timeline,
// and also with an error when files could not be read (the error then
// wraps ingest.ErrIncomplete and the timeline holds what was read).
func Read(ctx context.Context, sources []ingest.Source, opts Options) (*analyze.Timeline, *Report, error) {
	if opts.Workers <= 0 {
		opts.Workers = DefaultOptions().Workers
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.Production == "" && opts.Staging == "" && len(opts.Distributions) == 0 {
		return nil, nil, ErrNoDistribution
	}
	rep := &Report{}
	var files []fileRef
	for _, src := range sources {
		for ref, err := range src.List(ctx, time.Time{}, time.Time{}) {
			if err != nil {
				return nil, nil, fmt.Errorf("list %s: %w", src, err)
			}
			if !isLogFile(ref.Key) || !deliveredInRange(ref.Key, opts.From, opts.To) {
				rep.SkippedFiles++
				continue
			}
			files = append(files, fileRef{src, ref})
		}
	}
	results := make([]fileResult, len(files))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(opts.Workers)
	for i, f := range files {
		g.Go(func() error {
			results[i] = readFile(gctx, f, opts.MaxBytes)
			if err := gctx.Err(); err != nil {
				return err
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, nil, err
	}
	var events []event
	for i, r := range results {
		rep.Files++
		rep.Records += r.records
		rep.MalformedRecords += r.malformed
		rep.CloudFrontEvents += int64(len(r.events)) + int64(len(r.unknown))
		rep.Unknown = append(rep.Unknown, r.unknown...)
		if r.firstMalformed != "" {
			rep.Unknown = append(rep.Unknown, UnknownEvent{File: name(files[i]), Reason: r.firstMalformed})
		}
		if r.err != nil {
			rep.FileErrors = append(rep.FileErrors, FileError{File: name(files[i]), Error: r.err.Error()})
			log.WarnContext(ctx, "cloudtrail file unread", "file", name(files[i]), "err", r.err)
		}
		events = append(events, r.events...)
	}
	events, rep.Duplicates = sortEvents(events)

	l, err := resolve(events, opts.Production, opts.Staging, opts.Distributions)
	if err != nil {
		return nil, rep, err
	}
	rep.Production, rep.Staging, rep.Policies = l.production, l.staging, sortedKeys(l.policies)
	b := newBuilder(l)
	for i := range events {
		ev := &events[i]
		rel := l.relevant(ev)
		if rel == relNo {
			rep.OtherDistributions++
			continue
		}
		if !inRange(ev.At, opts.From, opts.To) {
			rep.OutOfRange++
			continue
		}
		switch {
		case ev.ErrorCode != "":
			rep.Failed = append(rep.Failed, FailedCall{
				EventID: ev.ID, EventName: ev.Name, Time: ev.At, Resource: resource(ev),
				ErrorCode: ev.ErrorCode, ErrorMessage: ev.ErrorMessage,
			})
		case ev.Problem != "":
			rep.Unknown = append(rep.Unknown, UnknownEvent{EventID: ev.ID, EventName: ev.Name, Time: ev.At, File: ev.File, Reason: ev.Problem})
		case rel == relUnknown:
			rep.Unknown = append(rep.Unknown, UnknownEvent{EventID: ev.ID, EventName: ev.Name, Time: ev.At, File: ev.File, Reason: "names no distribution or policy that can be linked"})
		default:
			rep.Relevant++
			b.apply(ev)
		}
	}
	tl := &analyze.Timeline{
		Distributions: analyze.Distributions{Production: l.production, Staging: l.staging},
		Changes:       b.changes,
	}
	rep.Changes = len(tl.Changes)
	if err := tl.Validate(); err != nil {
		return nil, rep, fmt.Errorf("timeline from cloudtrail: %w", err)
	}
	if len(rep.FileErrors) > 0 {
		return tl, rep, fmt.Errorf("%d of %d files: %w", len(rep.FileErrors), rep.Files, ErrIncomplete)
	}
	return tl, rep, nil
}

func name(f fileRef) string {
	return strings.TrimSuffix(f.ref.Source, "/") + "/" + f.ref.Key
}

func resource(ev *event) string {
	switch {
	case ev.Distribution != "":
		return ev.Distribution
	case ev.Policy != "":
		return ev.Policy
	case ev.CopiedFrom != "":
		return ev.CopiedFrom
	}
	return ""
}

// readFile reads the relevant events of one file. A file that breaks
// midway keeps the events read before the break.
func readFile(ctx context.Context, f fileRef, maxBytes int64) fileResult {
	var res fileResult
	rc, err := f.src.Open(ctx, f.ref)
	if err != nil {
		res.err = fmt.Errorf("open: %w", err)
		return res
	}
	defer rc.Close()
	text, err := inflate.Decompress(rc, maxBytes)
	if err != nil {
		res.err = err
		return res
	}
	defer text.Close()
	res.events, res.unknown, res.records, res.malformed, res.firstMalformed, res.err = readEvents(ctx, text, name(f))
	return res
}

// readEvents decodes the records of r and keeps the events of the
// operations the timeline uses.
func readEvents(ctx context.Context, r io.Reader, file string) (events []event, unknown []UnknownEvent, records, malformed int64, firstMalformed string, err error) {
	rd := NewReader(r)
	for rd.Next() {
		if rd.Records%1024 == 0 && ctx.Err() != nil {
			return events, unknown, rd.Records, rd.Malformed, rd.FirstMalformed, ctx.Err()
		}
		rec := rd.Record()
		n, use := eventName(rec)
		if !use {
			continue
		}
		ev, err := decodeEvent(rec, n, file, rd.Records)
		if err != nil {
			unknown = append(unknown, UnknownEvent{EventID: rec.EventID, EventName: n, File: file, Reason: err.Error()})
			continue
		}
		events = append(events, ev)
	}
	return events, unknown, rd.Records, rd.Malformed, rd.FirstMalformed, rd.Err()
}

package s3source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"golang.org/x/sync/errgroup"

	"github.com/cflens/cflens/ingest"
)

var _ ingest.Source = (*Source)(nil)

// Options configure a Source.
type Options struct {
	// Distributions maps the IDs of the distributions to read to their
	// roles ("production", "staging" or empty). Objects of other
	// distributions under the same prefix are left out. When empty, every
	// object whose key names a distribution or an hour is read, and the
	// listing cannot be narrowed by key.
	Distributions map[string]string
	// Templates are further key layouts below the prefix, in the notation
	// of CloudFront's standard logging v2 ({DistributionId}, {yyyy}, {MM},
	// {dd}, {HH}; other variables match one path segment), for a custom
	// partitioning such as "{DistributionId}/logs/{yyyy}/{MM}/{dd}/{HH}/".
	// The legacy names, the v2 Hive-style and default templated paths,
	// and {yyyy}/{MM}/{dd}/{HH}/ and year=…/month=…/day=…/hour=… folders
	// (the distribution then named by the file or the only one) are
	// always tried.
	Templates []string
	// LateDelivery is how long after the end of the requested range an
	// object may still be named: CloudFront delivers some files up to
	// 24 hours late, and a v2 path may name the hour of delivery rather
	// than that of the records.
	LateDelivery time.Duration
	// EarlySlack is how long before the start of the range an object may be
	// named and still hold records of the range.
	EarlySlack time.Duration
	// IdleTimeout bounds the wait for the next bytes of an object's body;
	// a body that stalls longer fails with ErrStalled.
	IdleTimeout time.Duration
	// ListConcurrency is how many list requests run at once (default 8).
	ListConcurrency int
	// PageSize is the number of keys asked for per list request (0: the
	// server's default, 1000 on S3).
	PageSize int32
	// Logger receives debug messages about listing; nil discards them.
	Logger *slog.Logger
}

// DefaultOptions returns the options used when a field is left zero.
func DefaultOptions() Options {
	return Options{
		LateDelivery:    24 * time.Hour,
		EarlySlack:      time.Hour,
		IdleTimeout:     30 * time.Second,
		ListConcurrency: 8,
	}
}

// Source lists and opens the CloudFront log objects under one S3 location.
type Source struct {
	client    *s3.Client
	loc       Location
	opts      Options
	ids       []string // sorted keys of opts.Distributions
	templates []template
	log       *slog.Logger
}

// New returns a Source reading loc with client.
func New(client *s3.Client, loc Location, opts Options) (*Source, error) {
	def := DefaultOptions()
	if opts.LateDelivery == 0 {
		opts.LateDelivery = def.LateDelivery
	}
	if opts.EarlySlack == 0 {
		opts.EarlySlack = def.EarlySlack
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = def.IdleTimeout
	}
	if opts.ListConcurrency <= 0 {
		opts.ListConcurrency = def.ListConcurrency
	}
	if opts.LateDelivery < 0 || opts.EarlySlack < 0 {
		return nil, fmt.Errorf("s3 source %s: negative slack", loc)
	}
	s := &Source{
		client: client,
		loc:    loc,
		opts:   opts,
		ids:    slices.Sorted(maps.Keys(opts.Distributions)),
		log:    opts.Logger,
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	for _, text := range slices.Concat(builtinTemplates, timeTemplates, opts.Templates) {
		t, err := parseTemplate(text)
		if err != nil {
			return nil, fmt.Errorf("s3 source %s: %w", loc, err)
		}
		s.templates = append(s.templates, t)
	}
	return s, nil
}

// String returns the location as s3://bucket/prefix/.
func (s *Source) String() string { return s.loc.String() }

// Location returns the bucket and prefix the source reads.
func (s *Source) Location() Location { return s.loc }

// List yields the log objects that may hold records between from and to,
// template by template, distribution by distribution, in key order. When
// distribution IDs are known, each template is first probed with one small
// request per distribution; when both ends of the range are known, the
// listing is narrowed to one key prefix per hour (or per day for days wholly
// inside the window) from EarlySlack before from to LateDelivery after to,
// and up to ListConcurrency prefixes are listed at once. Otherwise it lists
// everything below the prefix and keeps the keys that name a distribution
// or an hour, within the range.
func (s *Source) List(ctx context.Context, from, to time.Time) iter.Seq2[ingest.ObjectRef, error] {
	return func(yield func(ingest.ObjectRef, error) bool) {
		lo, hi := s.hourWindow(from, to)
		// Keys are remembered only when several prefixes are listed (a
		// custom layout may overlap a built-in one); one listing of the
		// whole prefix never repeats a key.
		var seen map[string]bool
		if len(s.ids) > 0 {
			seen = make(map[string]bool)
		}
		stopped := false
		datasets := map[string]bool{} // see inDataset
		emit := func(obj types.Object) bool {
			skip, err := s.inDataset(ctx, aws.ToString(obj.Key), datasets)
			if err != nil {
				stopped = true
				yield(ingest.ObjectRef{}, err)
				return false
			}
			if skip {
				return true
			}
			ref, ok := s.ref(obj, lo, hi)
			if !ok || seen[ref.Key] {
				return true
			}
			if seen != nil {
				seen[ref.Key] = true
			}
			if !yield(ref, nil) {
				stopped = true
				return false
			}
			return true
		}
		if len(s.ids) == 0 {
			if err := s.listPrefix(ctx, s.loc.Prefix, 0, emit); err != nil {
				yield(ingest.ObjectRef{}, err)
			}
			return
		}
		prefixes, err := s.prefixes(ctx, lo, hi)
		if err != nil {
			yield(ingest.ObjectRef{}, err)
			return
		}
		if lo.IsZero() || hi.IsZero() {
			// Unbounded: one prefix per distribution and layout, each
			// possibly large, streamed page by page.
			for _, p := range prefixes {
				if err := s.listPrefix(ctx, p, 0, emit); err != nil {
					yield(ingest.ObjectRef{}, err)
					return
				}
				if stopped {
					return
				}
			}
			return
		}
		if err := s.listOrdered(ctx, prefixes, emit); err != nil && !stopped {
			yield(ingest.ObjectRef{}, err)
		}
	}
}

// prefixes returns the full key prefixes to list, in listing order: for
// every layout and distribution that the probe finds, the prefixes of the
// key hours lo..hi.
func (s *Source) prefixes(ctx context.Context, lo, hi time.Time) ([]string, error) {
	type pair struct {
		t  template
		id string
	}
	var pairs []pair
	for _, t := range s.templates {
		if !t.hasID() {
			pairs = append(pairs, pair{t, ""})
			continue
		}
		for _, id := range s.ids {
			pairs = append(pairs, pair{t, id})
		}
	}
	// A layout naming the distribution is probed at the distribution's
	// folder or file name prefix. One that does not is probed at the years
	// of the window, or, for an unbounded window, by the folders below the
	// prefix; so a legacy bucket does not cost a request per hour, nor a
	// second full listing, for each layout it does not use.
	type probe struct {
		prefixes []string // any key under one of them
		folders  bool     // probe by folders instead
		t        template
	}
	probes := make([]probe, len(pairs))
	for i, p := range pairs {
		switch {
		case p.t.hasID():
			probes[i].prefixes = []string{s.loc.Prefix + p.t.prefix(p.id, time.Time{}, levelID)}
		case !lo.IsZero() && !hi.IsZero():
			for y := lo.Year(); y <= hi.Year(); y++ {
				year := time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC)
				probes[i].prefixes = append(probes[i].prefixes, s.loc.Prefix+p.t.prefix("", year, levelYear))
			}
		default:
			probes[i] = probe{folders: true, t: p.t}
		}
	}
	// Layouts may share a probe prefix ({DistributionId}/… built in and
	// custom): each prefix is asked once.
	var mu sync.Mutex
	seen := make(map[string]bool)
	var uniq []string
	for _, pr := range probes {
		for _, q := range pr.prefixes {
			if _, dup := seen[q]; !dup {
				seen[q] = false
				uniq = append(uniq, q)
			}
		}
	}
	found := make([]bool, len(pairs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.opts.ListConcurrency)
	for _, q := range uniq {
		g.Go(func() error {
			ok, err := s.probe(gctx, q)
			mu.Lock()
			seen[q] = ok
			mu.Unlock()
			return err
		})
	}
	for i, pr := range probes {
		if pr.folders {
			g.Go(func() error {
				var err error
				found[i], err = s.probeFolders(gctx, pr.t)
				return err
			})
		}
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	for i, pr := range probes {
		for _, q := range pr.prefixes {
			found[i] = found[i] || seen[q]
		}
	}
	var all []string
	for i, p := range pairs {
		if found[i] {
			for _, rel := range p.t.prefixes(p.id, lo, hi) {
				all = append(all, s.loc.Prefix+rel)
			}
		}
	}
	out := uncovered(all)
	s.log.DebugContext(ctx, "list prefixes", "source", s.loc.String(), "layouts", len(pairs), "prefixes", len(out))
	return out, nil
}

// uncovered returns the prefixes, in their order, without duplicates and
// without those that another prefix of the list covers (a layout without
// the ID may cover the whole location).
func uncovered(prefixes []string) []string {
	sorted := slices.Clone(prefixes)
	slices.Sort(sorted)
	covered := make(map[string]bool)
	var last string
	for i, p := range sorted {
		// Keys starting with last form one run in sorted order.
		if i > 0 && p == last {
			continue
		}
		if i > 0 && strings.HasPrefix(p, last) {
			covered[p] = true
			continue
		}
		last = p
	}
	out := prefixes[:0:0]
	for _, p := range prefixes {
		if !covered[p] {
			out = append(out, p)
			covered[p] = true
		}
	}
	return out
}

// listOrdered lists the prefixes, up to ListConcurrency at once, and calls
// fn for their objects in the order of prefixes, until fn returns false.
// Each prefix's listing is held in memory until its turn; prefixes are an
// hour or a day of one distribution.
func (s *Source) listOrdered(ctx context.Context, prefixes []string, fn func(types.Object) bool) error {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	type slot struct {
		objs []types.Object
		err  error
		done chan struct{}
	}
	slots := make([]*slot, len(prefixes))
	next := 0
	start := func() {
		sl := &slot{done: make(chan struct{})}
		slots[next] = sl
		p := prefixes[next]
		next++
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(sl.done)
			sl.err = s.listPrefix(ctx, p, 0, func(obj types.Object) bool {
				sl.objs = append(sl.objs, obj)
				return true
			})
		}()
	}
	for next < len(prefixes) && next < s.opts.ListConcurrency {
		start()
	}
	for i := range prefixes {
		sl := slots[i]
		select {
		case <-sl.done:
		case <-ctx.Done():
			return ctx.Err()
		}
		slots[i] = nil
		if sl.err != nil {
			return sl.err
		}
		if next < len(prefixes) {
			start()
		}
		for _, obj := range sl.objs {
			if !fn(obj) {
				return nil
			}
		}
	}
	return nil
}

// hourWindow returns the first and last key hour that may hold records
// between from and to; a zero end stays zero (unbounded).
func (s *Source) hourWindow(from, to time.Time) (lo, hi time.Time) {
	if !from.IsZero() {
		lo = from.UTC().Add(-s.opts.EarlySlack).Truncate(time.Hour)
	}
	if !to.IsZero() {
		hi = to.UTC().Add(-time.Millisecond).Add(s.opts.LateDelivery).Truncate(time.Hour)
	}
	return lo, hi
}

// prefixes returns the key prefixes (relative to the source's prefix) to
// list for one distribution between the key hours lo and hi: one per day
// that the window covers whole, one per hour at its ragged ends, or the
// template's prefix for the distribution when the window is unbounded.
// Prefixes that cover others are kept, the others dropped, so no key is
// listed twice.
func (t template) prefixes(id string, lo, hi time.Time) []string {
	if lo.IsZero() || hi.IsZero() || hi.Before(lo) {
		if !lo.IsZero() && !hi.IsZero() {
			return nil
		}
		return []string{t.prefix(id, time.Time{}, levelID)}
	}
	var out []string
	add := func(p string) {
		for _, q := range out {
			if strings.HasPrefix(p, q) {
				return
			}
		}
		out = slices.DeleteFunc(out, func(q string) bool { return strings.HasPrefix(q, p) })
		out = append(out, p)
	}
	for day := lo.Truncate(24 * time.Hour); !day.After(hi); day = day.Add(24 * time.Hour) {
		last := day.Add(23 * time.Hour)
		if !day.Before(lo) && !last.After(hi) {
			add(t.prefix(id, day, levelDay))
			continue
		}
		for h := day; !h.After(last); h = h.Add(time.Hour) {
			if !h.Before(lo) && !h.After(hi) {
				add(t.prefix(id, h, levelHour))
			}
		}
	}
	return out
}

// datasetMeta is the folder that marks the root of a cflens dataset
// (ingest/dataset keeps its journal there), and datasetPartition the
// first folder of its partitions.
const (
	datasetMeta      = "_cflens/"
	datasetPartition = "distributionid="
)

// inDataset tells whether key lies in a cflens dataset, which a source
// never reads (a dataset written with --out below the log prefix would
// otherwise be read back as v2 Parquet logs on every run). Only keys under
// a folder named like a dataset partition (lower-case distributionid=,
// which CloudFront's own Hive-style layout does not use) can be; the
// folder above it is a dataset root if it holds a _cflens/ journal, which
// one small listing per root tells. known caches the answers; the first
// time a dataset is found, the source says it skips it.
func (s *Source) inDataset(ctx context.Context, key string, known map[string]bool) (bool, error) {
	var root string
	switch i := strings.LastIndex(key, "/"+datasetPartition); {
	case strings.HasPrefix(key, datasetPartition):
	case i >= 0:
		root = key[:i+1]
	default:
		return false, nil
	}
	is, ok := known[root]
	if !ok {
		var err error
		if is, err = s.probe(ctx, root+datasetMeta); err != nil {
			return false, err
		}
		known[root] = is
		if is {
			s.log.WarnContext(ctx, "skipping a cflens dataset inside the log source (a source never reads a dataset)",
				"source", s.loc.String(), "dataset", "s3://"+s.loc.Bucket+"/"+root)
		}
	}
	return is, nil
}

// ref turns a listed object into an ObjectRef, or reports false for a key
// that is not a log object of the wanted distributions and hours.
func (s *Source) ref(obj types.Object, lo, hi time.Time) (ingest.ObjectRef, bool) {
	key := aws.ToString(obj.Key)
	if key == "" || strings.HasSuffix(key, "/") {
		return ingest.ObjectRef{}, false
	}
	id, hour, ok := s.keyInfo(key)
	if !ok {
		s.log.Debug("skip key that names no distribution or hour", "key", key)
		return ingest.ObjectRef{}, false
	}
	if len(s.ids) > 0 {
		if id == "" && len(s.ids) == 1 {
			id = s.ids[0]
		}
		if _, want := s.opts.Distributions[id]; !want {
			if id == "" {
				s.log.Debug("skip key that names no distribution", "key", key)
			}
			return ingest.ObjectRef{}, false
		}
	}
	if !hour.IsZero() && (!lo.IsZero() && hour.Before(lo) || !hi.IsZero() && hour.After(hi)) {
		return ingest.ObjectRef{}, false
	}
	return ingest.ObjectRef{
		Key:            key,
		Size:           aws.ToInt64(obj.Size),
		ETag:           unquote(aws.ToString(obj.ETag)),
		ModTime:        aws.ToTime(obj.LastModified).UTC(),
		DistributionID: id,
		Hour:           hour,
		Role:           s.opts.Distributions[id],
		Source:         "s3://" + s.loc.Bucket + "/", // keys are bucket-relative
	}, true
}

// keyInfo reads the distribution ID and hour from a key: by the first
// template it follows, else by ingest.ParseKey. A layout without the ID
// in its path takes it from the file name when that is a legacy one
// (<ID>.YYYY-MM-DD-HH.<unique>.gz, which v2 logging writes too).
func (s *Source) keyInfo(key string) (id string, hour time.Time, ok bool) {
	rel := strings.TrimPrefix(key, s.loc.Prefix)
	info, parsed := ingest.ParseKey(key)
	for _, t := range s.templates {
		if id, hour, ok := t.match(rel); ok {
			if id == "" {
				id = info.DistributionID
			}
			return id, hour, true
		}
	}
	return info.DistributionID, info.Hour, parsed
}

// probe reports whether any key starts with prefix.
func (s *Source) probe(ctx context.Context, prefix string) (bool, error) {
	found := false
	err := s.listPrefix(ctx, prefix, 1, func(types.Object) bool {
		found = true
		return false
	})
	return found, err
}

// probeFolders reports whether the first page of folders below the
// template's fixed start holds one that the template produces. A template
// without folders is taken as present.
func (s *Source) probeFolders(ctx context.Context, t template) (bool, error) {
	if t.seg == nil {
		return true, nil
	}
	prefix := s.loc.Prefix + t.prefix("", time.Time{}, levelID)
	var out *s3.ListObjectsV2Output
	err := again(ctx, func() error {
		var err error
		out, err = s.client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{
			Bucket:    aws.String(s.loc.Bucket),
			Prefix:    aws.String(prefix),
			Delimiter: aws.String("/"),
		})
		return err
	})
	if err != nil {
		return false, fmt.Errorf("list s3://%s/%s: %w", s.loc.Bucket, prefix, err)
	}
	for _, cp := range out.CommonPrefixes {
		if t.folder(strings.TrimPrefix(aws.ToString(cp.Prefix), s.loc.Prefix)) {
			return true, nil
		}
	}
	return false, nil
}

// listPrefix calls fn for every object under prefix, in key order, until
// fn returns false. maxPages > 0 stops after that many pages.
func (s *Source) listPrefix(ctx context.Context, prefix string, maxPages int, fn func(types.Object) bool) error {
	return listObjects(ctx, s.client, s.loc.Bucket, prefix, s.opts.PageSize, maxPages, fn)
}

// ErrListLoop reports a listing whose continuation tokens repeat: the
// store would serve the same pages forever.
var ErrListLoop = errors.New("listing does not advance")

// Retries of a list page that still fails after the SDK's own attempts
// (a SlowDown burst can outlast them, or empty the client's shared retry
// budget): the page is asked again with the same continuation token, so no
// key is yielded twice.
const (
	listPageTries   = 4
	listPageBackoff = 200 * time.Millisecond
)

func listObjects(ctx context.Context, client *s3.Client, bucket, prefix string, pageSize int32, maxPages int, fn func(types.Object) bool) error {
	in := &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)}
	if pageSize > 0 {
		in.MaxKeys = aws.Int32(pageSize)
	}
	if maxPages == 1 {
		// A probe needs one key, not a page.
		in.MaxKeys = aws.Int32(1)
	}
	pages := s3.NewListObjectsV2Paginator(client, in)
	// A store that hands back a token it was given before would have the
	// paginator ask for the same pages forever.
	tokens := map[string]bool{}
	for n := 0; pages.HasMorePages() && (maxPages <= 0 || n < maxPages); n++ {
		page, err := nextPage(ctx, pages)
		if err != nil {
			return fmt.Errorf("list s3://%s/%s: %w", bucket, prefix, err)
		}
		if tok := aws.ToString(page.NextContinuationToken); tok != "" && aws.ToBool(page.IsTruncated) {
			if tokens[tok] {
				return fmt.Errorf("list s3://%s/%s: %w: continuation token %q came back twice", bucket, prefix, ErrListLoop, tok)
			}
			tokens[tok] = true
		}
		for _, obj := range page.Contents {
			if !fn(obj) {
				return nil
			}
		}
	}
	return nil
}

// nextPage fetches the paginator's next page, again after a pause when it
// fails with an error that may pass. The paginator keeps its token when a
// page fails.
func nextPage(ctx context.Context, pages *s3.ListObjectsV2Paginator) (*s3.ListObjectsV2Output, error) {
	var page *s3.ListObjectsV2Output
	err := again(ctx, func() error {
		var err error
		page, err = pages.NextPage(ctx)
		return err
	})
	return page, err
}

// again calls f up to listPageTries times, pausing between calls, while it
// fails with an error that may pass (throttling, server errors, broken
// connections). It returns f's last error, converted by convertErr.
func again(ctx context.Context, f func() error) error {
	wait := listPageBackoff
	for try := 1; ; try++ {
		err := f()
		if err == nil {
			return nil
		}
		err = convertErr(err)
		if try == listPageTries || !transient(err) || ctx.Err() != nil {
			return err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		wait *= 2
	}
}

// Open fetches the object pinned to its listed ETag (an object replaced
// since the listing fails with ErrChanged rather than mixing contents),
// with the SDK's response checksum validation, and returns a body that
// fails with ErrShortBody when fewer bytes arrive than announced and with
// ErrStalled when no byte arrives for IdleTimeout. A missing object gives
// an error wrapping fs.ErrNotExist.
func (s *Source) Open(ctx context.Context, ref ingest.ObjectRef) (io.ReadCloser, error) {
	return openObject(ctx, s.client, s.loc.Bucket, ref.Key, ref.ETag, ref.Size, s.opts.IdleTimeout)
}

// unquote strips the double quotes S3 puts around an ETag, so that ETags
// compare equal whatever their source; Open puts them back for If-Match.
func unquote(etag string) string {
	if len(etag) >= 2 && etag[0] == '"' && etag[len(etag)-1] == '"' {
		return etag[1 : len(etag)-1]
	}
	return etag
}

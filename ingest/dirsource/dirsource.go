// Package dirsource reads CloudFront log files from the local file
// system: single files, folders (recursively) and glob patterns.
package dirsource

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/zeebo/xxh3"

	"github.com/cflens/cflens/ingest"
)

// Source is a set of local log files under one root folder.
type Source struct {
	spec string
	root string   // folder that keys are relative to
	keys []string // explicit files (slash-separated, relative to root); nil for a folder walk
	role string
	log  *slog.Logger
	// noDigests leaves ETag empty: listing reads no file.
	noDigests bool
}

// Option configures a Source.
type Option func(*Source)

// WithLogger sets where the source says which folders it skips (default:
// nowhere).
func WithLogger(l *slog.Logger) Option { return func(s *Source) { s.log = l } }

// WithoutDigests lists files without reading them: their ETag stays
// empty. It is for readers that keep nothing by an object's identity (an
// analysis, a look at a few lines), which would otherwise read every
// file twice, once to hash it and once to parse it. A dataset needs the
// digests to tell a rewritten file from the one it holds.
func WithoutDigests() Option { return func(s *Source) { s.noDigests = true } }

// datasetMeta is the folder that marks the root of a cflens dataset
// (ingest/dataset keeps its journal there).
const datasetMeta = "_cflens"

// isDataset tells whether dir is the root of a cflens dataset.
func isDataset(dir string) bool {
	fi, err := os.Stat(filepath.Join(dir, datasetMeta))
	return err == nil && fi.IsDir()
}

var _ ingest.Source = (*Source)(nil)

// New returns the source for spec: a file, a folder (read recursively) or
// a glob pattern. role, when not empty, is the role of every object in it.
//
// A source never reads a cflens dataset: a folder walk skips every folder
// that holds a dataset's _cflens journal (the dataset written with --out
// inside the log folder, for one), saying so once per dataset, and a glob
// leaves out the files under one.
func New(spec, role string, opts ...Option) (*Source, error) {
	s := &Source{spec: spec, role: role}
	for _, o := range opts {
		o(s)
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if strings.ContainsAny(spec, "*?[") {
		matches, err := filepath.Glob(spec)
		if err != nil {
			return nil, fmt.Errorf("glob %q: %w", spec, err)
		}
		if len(matches) == 0 {
			return nil, fmt.Errorf("glob %q: no files match: %w", spec, fs.ErrNotExist)
		}
		s.root = globRoot(spec)
		datasets := map[string]bool{} // folder → whether it is a dataset root
		for _, m := range matches {
			fi, err := os.Stat(m)
			if err != nil || !fi.Mode().IsRegular() {
				continue
			}
			rel, err := filepath.Rel(s.root, m)
			if err != nil || !filepath.IsLocal(rel) {
				return nil, fmt.Errorf("glob %q: %s is outside %s", spec, m, s.root)
			}
			if s.inDataset(rel, datasets) {
				continue
			}
			s.keys = append(s.keys, filepath.ToSlash(rel))
		}
		sort.Strings(s.keys)
		return s, nil
	}
	fi, err := os.Stat(spec)
	if err != nil {
		return nil, fmt.Errorf("open log source: %w", err)
	}
	if fi.IsDir() {
		s.root = spec
		return s, nil
	}
	s.root = filepath.Dir(spec)
	s.keys = []string{filepath.Base(spec)}
	return s, nil
}

// inDataset tells whether the file rel (relative to the root) lies in a
// cflens dataset: whether the root or a folder between it and the file
// holds a _cflens journal. known caches the answer per folder; the first
// time a dataset is found, the source says it skips it.
func (s *Source) inDataset(rel string, known map[string]bool) bool {
	dir := s.root
	for _, part := range append([]string{""}, strings.Split(filepath.Dir(rel), string(filepath.Separator))...) {
		if part == "." {
			continue
		}
		dir = filepath.Join(dir, part)
		is, ok := known[dir]
		if !ok {
			is = isDataset(dir)
			known[dir] = is
			if is {
				s.skipDataset(dir)
			}
		}
		if is {
			return true
		}
	}
	return false
}

// skipDataset says that the dataset at dir is not read.
func (s *Source) skipDataset(dir string) {
	s.log.Warn("skipping a cflens dataset inside the log source (a source never reads a dataset)", "source", s.String(), "dataset", filepath.ToSlash(dir))
}

// globRoot is the longest leading part of a pattern without
// metacharacters, cut to a folder.
func globRoot(pattern string) string {
	i := strings.IndexAny(pattern, "*?[")
	dir := filepath.Dir(pattern[:i+1])
	return dir
}

// String names the source.
func (s *Source) String() string {
	return filepath.ToSlash(filepath.Clean(s.root)) + "/"
}

var _ ingest.Local = (*Source)(nil)

// Local reports that the source's objects are local files.
func (s *Source) Local() bool { return true }

// List yields the source's files in key order. Files whose name carries
// an hour more than an hour away from [from, to) are left out (records
// are filtered by their own timestamps later); hidden files (names
// starting with "." or "_") and cflens datasets are skipped.
func (s *Source) List(ctx context.Context, from, to time.Time) iter.Seq2[ingest.ObjectRef, error] {
	return func(yield func(ingest.ObjectRef, error) bool) {
		keys := s.keys
		if keys == nil {
			var err error
			keys, err = s.walk(ctx)
			if err != nil {
				yield(ingest.ObjectRef{}, err)
				return
			}
		}
		for _, key := range keys {
			if ctx.Err() != nil {
				yield(ingest.ObjectRef{}, ctx.Err())
				return
			}
			ref, err := s.ref(key)
			if err != nil {
				if !yield(ingest.ObjectRef{}, err) {
					return
				}
				continue
			}
			if !InRange(ref.Hour, from, to) {
				continue
			}
			if !yield(ref, nil) {
				return
			}
		}
	}
}

// InRange tells whether a file for the given hour (zero: unknown) may hold
// records in [from, to), allowing an hour of slack on each side.
func InRange(hour, from, to time.Time) bool {
	if hour.IsZero() {
		return true
	}
	if !from.IsZero() && hour.Add(2*time.Hour).Before(from) {
		return false
	}
	if !to.IsZero() && !hour.Add(-time.Hour).Before(to) {
		return false
	}
	return true
}

// walk lists the files under the root, following symbolic links to
// folders and files; a folder or file reached twice (by links or a loop)
// is listed once, so that no file counts twice. Hidden names are
// skipped.
func (s *Source) walk(ctx context.Context) ([]string, error) {
	var keys []string
	if isDataset(s.root) {
		s.skipDataset(s.root)
		return nil, nil
	}
	seen := map[string]bool{}
	var walkDir func(dir, rel string) error
	walkDir = func(dir, rel string) error {
		real, err := filepath.EvalSymlinks(dir)
		if err != nil {
			return err
		}
		if seen[real] {
			return nil
		}
		seen[real] = true
		entries, err := os.ReadDir(dir)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			name := e.Name()
			if strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
				continue
			}
			p, key := filepath.Join(dir, name), path.Join(rel, name)
			typ, target := e.Type(), filepath.Join(real, name)
			if typ&fs.ModeSymlink != 0 {
				fi, err := os.Stat(p)
				if err != nil {
					return fmt.Errorf("follow link %s: %w", key, err)
				}
				if target, err = filepath.EvalSymlinks(p); err != nil {
					return fmt.Errorf("follow link %s: %w", key, err)
				}
				typ = fi.Mode().Type()
			}
			switch {
			case typ.IsDir():
				if isDataset(p) {
					s.skipDataset(p)
					continue
				}
				if err := walkDir(p, key); err != nil {
					return err
				}
			case typ.IsRegular() && !seen[target]:
				seen[target] = true
				keys = append(keys, key)
			}
		}
		return nil
	}
	if err := walkDir(s.root, ""); err != nil {
		return nil, fmt.Errorf("walk %s: %w", s.root, err)
	}
	sort.Strings(keys)
	return keys, nil
}

// ref describes a file. Its ETag is a digest of the file's bytes (XXH3,
// 128 bits, hex), so that a file rewritten with other content keeps
// neither its identity nor its rows even when its size and modification
// time are restored (cp -p, rsync -a, tar): the dataset replaces the rows
// of an object whose ETag changed. Hashing reads each file once per
// listing: at several GB/s from the page cache, a small part of parsing
// it, but a second read from disk of logs larger than the cache.
// WithoutDigests leaves it out.
func (s *Source) ref(key string) (ingest.ObjectRef, error) {
	p, err := s.path(key)
	if err != nil {
		return ingest.ObjectRef{}, err
	}
	f, err := os.Open(p)
	if err != nil {
		return ingest.ObjectRef{}, fmt.Errorf("stat %s: %w", key, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return ingest.ObjectRef{}, fmt.Errorf("stat %s: %w", key, err)
	}
	n, etag := fi.Size(), ""
	if !s.noDigests {
		h := xxh3.New()
		if n, err = io.Copy(h, f); err != nil {
			return ingest.ObjectRef{}, fmt.Errorf("hash %s: %w", key, err)
		}
		sum := h.Sum128().Bytes()
		etag = hex.EncodeToString(sum[:])
	}
	info, _ := ingest.ParseKey(key)
	return ingest.ObjectRef{
		Key:            key,
		Size:           n,
		ETag:           etag,
		ModTime:        fi.ModTime().UTC(),
		DistributionID: info.DistributionID,
		Hour:           info.Hour,
		Role:           s.role,
		Source:         s.String(),
	}, nil
}

// path turns a key into a file path, refusing keys that would leave the
// root.
func (s *Source) path(key string) (string, error) {
	if strings.Contains(key, `\`) || !filepath.IsLocal(filepath.FromSlash(key)) {
		return "", fmt.Errorf("key %q: %w", key, errOutside)
	}
	return filepath.Join(s.root, filepath.FromSlash(key)), nil
}

var errOutside = errors.New("path outside the source folder")

// Open opens a file of the source.
func (s *Source) Open(ctx context.Context, ref ingest.ObjectRef) (io.ReadCloser, error) {
	p, err := s.path(ref.Key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	return f, nil
}

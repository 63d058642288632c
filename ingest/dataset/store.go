package dataset

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/cflens/cflens/ingest"
)

// Store holds whole objects under slash-separated keys relative to the
// dataset root. Put must be atomic: a reader sees the old object, or the
// new one complete, never a part (S3 PutObject is; DirStore writes a
// hidden temporary file and renames it). The S3 implementation lives in
// ingest/s3store.
type Store interface {
	Put(ctx context.Context, key string, r io.Reader, size int64) error
	// Get returns fs.ErrNotExist (wrapped) for a missing key.
	Get(ctx context.Context, key string) (io.ReadCloser, error)
	// List yields the objects whose key starts with prefix, in key order.
	List(ctx context.Context, prefix string) iter.Seq2[ingest.ObjectRef, error]
	// Delete removes key; deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
	// PutIfAbsent writes key like Put, but only when no object has that
	// key; otherwise it returns an error wrapping fs.ErrExist and leaves
	// the object as it was. Of calls racing for one key, one wins. The
	// dataset's lease (see Writer) is created with it.
	PutIfAbsent(ctx context.Context, key string, r io.Reader, size int64) error
}

// FileCreator is implemented by stores that can write an object in place
// without a spool copy; the Writer uses it when available.
type FileCreator interface {
	Create(ctx context.Context, key string) (PendingFile, error)
}

// PendingFile is an object being written. Nothing is visible under its
// key until Commit; Abort discards it.
type PendingFile interface {
	io.Writer
	Commit() error
	Abort()
}

// ReaderAtOpener is implemented by stores that can serve random reads
// (local files); other stores' objects are spooled to a temporary file
// before Parquet footers and row groups are read.
type ReaderAtOpener interface {
	OpenFile(ctx context.Context, key string) (*os.File, error)
}

// DirStore is a Store on a local folder.
type DirStore struct {
	root string
	// swapOK caches whether partition folders can be exchanged (swap.go).
	swapOnce sync.Once
	swapOK   bool
}

var (
	_ Store          = (*DirStore)(nil)
	_ FileCreator    = (*DirStore)(nil)
	_ ReaderAtOpener = (*DirStore)(nil)
)

// NewDirStore returns a store rooted at dir, creating it if needed.
func NewDirStore(dir string) (*DirStore, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create dataset folder: %w", err)
	}
	return &DirStore{root: dir}, nil
}

// OpenDirStore returns a store rooted at dir, a folder that must exist:
// for reading a dataset, where a missing folder is a mistyped path, not
// an empty dataset.
func OpenDirStore(dir string) (*DirStore, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("%s: not a folder", dir)
	}
	return &DirStore{root: dir}, nil
}

// Root returns the folder of the store.
func (d *DirStore) Root() string { return d.root }

// String names the store for messages.
func (d *DirStore) String() string { return d.root }

// errBadKey reports a key that would leave the root or is not portable.
var errBadKey = errors.New("invalid object key")

// path maps a key to a file path inside the root, rejecting keys that are
// absolute, contain "..", backslashes or empty segments.
func (d *DirStore) path(key string) (string, error) {
	if key == "" || strings.HasPrefix(key, "/") || strings.ContainsAny(key, "\\\x00") {
		return "", fmt.Errorf("%w: %q", errBadKey, key)
	}
	for _, seg := range strings.Split(key, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return "", fmt.Errorf("%w: %q", errBadKey, key)
		}
	}
	return filepath.Join(d.root, filepath.FromSlash(key)), nil
}

// place returns the path of key's file (placer, stage.go).
func (d *DirStore) place(key string) (string, error) { return d.path(key) }

// tempPrefix starts the names of files being written: hidden from readers
// (Hive and Athena skip names starting with "." or "_"), and ending in
// ".tmp" so that no "*.parquet" glob matches them either.
const tempPrefix = ".tmp-"

// Create starts writing key: a hidden temporary file (0600) in the same
// folder, renamed into place on Commit.
func (d *DirStore) Create(ctx context.Context, key string) (PendingFile, error) {
	p, err := d.path(key)
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(p)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create folder of %s: %w", key, err)
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	f, err := os.OpenFile(filepath.Join(dir, tempPrefix+hex.EncodeToString(rnd[:])+"-"+filepath.Base(p)+".tmp"), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create temporary file for %s: %w", key, err)
	}
	return &dirFile{f: f, dst: p}, nil
}

type dirFile struct {
	f   *os.File
	dst string
}

func (p *dirFile) Write(b []byte) (int, error) { return p.f.Write(b) }

func (p *dirFile) Commit() error {
	name := p.f.Name()
	err := p.f.Sync()
	if cerr := p.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		// Readers expect the permissions of ordinary data files.
		err = os.Chmod(name, 0o644)
	}
	if err == nil {
		err = os.Rename(name, p.dst)
	}
	if err != nil {
		os.Remove(name)
		return fmt.Errorf("write %s: %w", p.dst, err)
	}
	syncDir(filepath.Dir(p.dst))
	return nil
}

func (p *dirFile) Abort() {
	p.f.Close()
	os.Remove(p.f.Name())
}

// syncDir makes a rename durable; failures are ignored as some
// filesystems do not support syncing folders.
func syncDir(dir string) {
	if f, err := os.Open(dir); err == nil {
		_ = f.Sync()
		f.Close()
	}
}

// Put writes r to key atomically.
func (d *DirStore) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	pf, err := d.Create(ctx, key)
	if err != nil {
		return err
	}
	n, err := io.Copy(pf, r)
	if err == nil && size >= 0 && n != size {
		err = fmt.Errorf("wrote %d bytes, expected %d", n, size)
	}
	if err != nil {
		pf.Abort()
		return fmt.Errorf("put %s: %w", key, err)
	}
	return pf.Commit()
}

// PutIfAbsent writes r to a hidden temporary file and links it under key,
// which fails when key exists: readers see no object or a complete one.
func (d *DirStore) PutIfAbsent(ctx context.Context, key string, r io.Reader, size int64) error {
	p, err := d.path(key)
	if err != nil {
		return err
	}
	dir := filepath.Dir(p)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create folder of %s: %w", key, err)
	}
	f, err := os.CreateTemp(dir, tempPrefix+"*-"+filepath.Base(p)+".tmp")
	if err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	defer os.Remove(f.Name())
	n, err := io.Copy(f, r)
	if err == nil && size >= 0 && n != size {
		err = fmt.Errorf("wrote %d bytes, expected %d", n, size)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644)
	}
	if err == nil {
		// link(2), unlike rename(2), refuses to replace an existing name.
		err = os.Link(f.Name(), p)
	}
	if err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	syncDir(dir)
	return nil
}

// Get opens key.
func (d *DirStore) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	return d.OpenFile(ctx, key)
}

// OpenFile opens key for random reads.
func (d *DirStore) OpenFile(ctx context.Context, key string) (*os.File, error) {
	p, err := d.path(key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) && strings.HasSuffix(key, dataSuffix) {
		// Between the exchange of a partition folder and the commit
		// record (or after a run killed there), the journal still names
		// the files that the exchange moved to a staging folder. A data
		// file's name is a digest of the rows it holds, so the staged
		// file of that name is the one the journal means (swap.go).
		_, rel, _ := strings.Cut(key, "/")
		if staged, _ := filepath.Glob(filepath.Join(d.stageRoot(), "*", filepath.FromSlash(rel))); len(staged) > 0 {
			if sf, serr := os.Open(staged[0]); serr == nil {
				return sf, nil
			}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", key, err)
	}
	return f, nil
}

// Delete removes key and the folders it leaves empty.
func (d *DirStore) Delete(ctx context.Context, key string) error {
	p, err := d.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	for dir := filepath.Dir(p); dir != filepath.Clean(d.root) && strings.HasPrefix(dir, filepath.Clean(d.root)); dir = filepath.Dir(dir) {
		if os.Remove(dir) != nil {
			break // not empty
		}
	}
	return nil
}

// List yields the files under prefix in key order, skipping temporary
// files. Prefix is a plain string prefix of keys, as on S3.
func (d *DirStore) List(ctx context.Context, prefix string) iter.Seq2[ingest.ObjectRef, error] {
	return func(yield func(ingest.ObjectRef, error) bool) {
		// Walk from the deepest folder that the prefix names in full.
		start := d.root
		if i := strings.LastIndex(prefix, "/"); i > 0 {
			dirKey := prefix[:i]
			p, err := d.path(dirKey)
			if err != nil {
				yield(ingest.ObjectRef{}, err)
				return
			}
			start = p
		}
		var refs []ingest.ObjectRef
		err := filepath.WalkDir(start, func(p string, e fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil
				}
				return err
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			if e.IsDir() || strings.HasPrefix(e.Name(), tempPrefix) || strings.HasPrefix(e.Name(), swapMarkerPrefix) {
				return nil
			}
			rel, err := filepath.Rel(d.root, p)
			if err != nil {
				return err
			}
			key := filepath.ToSlash(rel)
			if !strings.HasPrefix(key, prefix) {
				return nil
			}
			info, err := e.Info()
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil
				}
				return err
			}
			refs = append(refs, ingest.ObjectRef{
				Key:     key,
				Size:    info.Size(),
				ETag:    fmt.Sprintf("%x-%x", info.Size(), info.ModTime().UnixNano()),
				ModTime: info.ModTime(),
				Source:  d.root,
			})
			return nil
		})
		if err != nil {
			yield(ingest.ObjectRef{}, fmt.Errorf("list %s: %w", path.Join(d.root, prefix), err))
			return
		}
		sort.Slice(refs, func(i, j int) bool { return refs[i].Key < refs[j].Key })
		for _, r := range refs {
			if !yield(r, nil) {
				return
			}
		}
	}
}

// RemoveTemp deletes temporary files left by an interrupted run. The
// lease folder is left alone: a run waiting for the lease may be writing
// its record there.
func (d *DirStore) RemoveTemp(ctx context.Context) error {
	leases := filepath.Join(d.root, filepath.FromSlash(strings.TrimSuffix(leaseDir, "/")))
	return filepath.WalkDir(d.root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if e.IsDir() && p == leases {
			return filepath.SkipDir
		}
		if !e.IsDir() && strings.HasPrefix(e.Name(), tempPrefix) {
			if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
		return nil
	})
}

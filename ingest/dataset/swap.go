package dataset

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
)

// A checkpoint that replaces files in a local dataset does not add the
// merged files beside the files they replace (a reader of **/*.parquet
// would see their rows twice until they are deleted). For each
// distribution whose files it replaces, it builds the distribution
// folder's next tree in a staging folder (hard links to the files it
// keeps, and the files it writes) and exchanges that folder with the live
// one in one rename(2) (RENAME_EXCHANGE): a reader sees the old tree or
// the new one. The unit is the distribution folder, not the hour: an
// object's rows span several hours, and exchanging hour by hour would
// show, between two exchanges, one hour of its new version beside another
// of its old one. A source object belongs to one distribution. The staging folders live beside the dataset folder, in
// .<name>.cflens-stage/, because DuckDB's ** glob descends into every
// folder under the root, hidden or not, and would read the staged files.
//
// The exchange happens after the files are written and before the commit
// record; a marker file in the staged set tells, after a crash, whether
// the exchange was made, so that opening the dataset swaps it back (no
// commit record) or finishes it (committed). A checkpoint that replaces
// nothing in a folder adds its file by a rename, as before.

// swapRecord names a partition folder whose files a checkpoint replaces
// in one exchange, and its staging folder.
type swapRecord struct {
	Dir   string `json:"dir"`   // the partition folder, as a key without the trailing slash
	Stage string `json:"stage"` // the staging folder's name in the store's staging root
}

// swapper is implemented by stores that can exchange a staged folder with
// a live one atomically (DirStore on Linux).
type swapper interface {
	// canSwap reports whether the exchange works here (tried once).
	canSwap() bool
	// stage creates r's staging folder holding hard links to the files of
	// r.Dir but those named in drop, and the marker of seq, and returns
	// a FileCreator that writes into it.
	stage(r swapRecord, seq int64, drop []string) (FileCreator, error)
	// exchange swaps r's staging folder with r.Dir.
	exchange(r swapRecord) error
	// exchanged reports whether r.Dir holds the staged set of seq.
	exchanged(r swapRecord, seq int64) (bool, error)
	// staged reports whether r's staging folder still exists.
	staged(r swapRecord) (bool, error)
	// removeStage deletes r's staging folder and seq's marker in r.Dir.
	removeStage(r swapRecord, seq int64) error
}

// swapMarkerPrefix starts the name of the marker file of a staged set:
// hidden, and not a *.parquet name.
const swapMarkerPrefix = ".cflens-swap-"

func swapMarker(seq int64) string { return swapMarkerPrefix + strconv.FormatInt(seq, 10) }

// errNoSwap reports a pending record with exchanges that this store cannot
// make.
var errNoSwap = errors.New("store cannot exchange folders")

// undoSwaps reverts the exchanges of an uncommitted checkpoint (or, when
// committed, finishes them) and removes the staging folders.
func undoSwaps(st Store, p pendingRecord, committed bool) error {
	if len(p.Swaps) == 0 {
		return nil
	}
	sw, ok := st.(swapper)
	if !ok {
		return fmt.Errorf("checkpoint %d: %w", p.Seq, errNoSwap)
	}
	for _, r := range p.Swaps {
		done, err := sw.exchanged(r, p.Seq)
		if err != nil {
			return err
		}
		left, err := sw.staged(r)
		if err != nil {
			return err
		}
		if left && done != committed {
			if err := sw.exchange(r); err != nil {
				return err
			}
		}
		if err := sw.removeStage(r, p.Seq); err != nil {
			return err
		}
	}
	return nil
}

// stageRoot is the folder beside the dataset folder that holds staging
// folders.
func (d *DirStore) stageRoot() string {
	root := filepath.Clean(d.root)
	return filepath.Join(filepath.Dir(root), "."+filepath.Base(root)+".cflens-stage")
}

func (d *DirStore) canSwap() bool {
	d.swapOnce.Do(func() { d.swapOK = d.probeSwap() == nil })
	return d.swapOK
}

// probeSwap exchanges two empty folders in the staging root: it fails
// where the kernel or the file system cannot, or the folder beside the
// dataset cannot be written.
func (d *DirStore) probeSwap() error {
	sr := d.stageRoot()
	if err := os.MkdirAll(sr, 0o755); err != nil {
		return err
	}
	defer os.Remove(sr)
	a, err := os.MkdirTemp(sr, "probe-")
	if err != nil {
		return err
	}
	defer os.Remove(a)
	b, err := os.MkdirTemp(sr, "probe-")
	if err != nil {
		return err
	}
	defer os.Remove(b)
	// Hard links must work from the dataset into the staging root.
	f, err := os.CreateTemp(d.root, tempPrefix+"probe-*.tmp")
	if err != nil {
		return err
	}
	f.Close()
	defer os.Remove(f.Name())
	if err := os.Link(f.Name(), filepath.Join(a, "link")); err != nil {
		return err
	}
	defer os.Remove(filepath.Join(b, "link"))
	defer os.Remove(filepath.Join(a, "link"))
	return exchangeDirs(a, b)
}

func (d *DirStore) stage(r swapRecord, seq int64, drop []string) (FileCreator, error) {
	live, err := d.path(r.Dir)
	if err != nil {
		return nil, err
	}
	sdir := filepath.Join(d.stageRoot(), r.Stage)
	if err := os.MkdirAll(sdir, 0o755); err != nil {
		return nil, fmt.Errorf("stage %s: %w", r.Dir, err)
	}
	if err := os.MkdirAll(live, 0o755); err != nil {
		return nil, fmt.Errorf("stage %s: %w", r.Dir, err)
	}
	skip := map[string]bool{}
	for _, k := range drop {
		skip[k] = true
	}
	err = filepath.WalkDir(live, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := e.Name()
		if e.IsDir() || !e.Type().IsRegular() || strings.HasPrefix(name, tempPrefix) || strings.HasPrefix(name, swapMarkerPrefix) {
			return nil
		}
		rel, err := filepath.Rel(live, p)
		if err != nil {
			return err
		}
		if skip[r.Dir+"/"+filepath.ToSlash(rel)] {
			return nil
		}
		dst := filepath.Join(sdir, rel)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		return os.Link(p, dst)
	})
	if err != nil {
		return nil, fmt.Errorf("stage %s: %w", r.Dir, err)
	}
	if err := os.WriteFile(filepath.Join(sdir, swapMarker(seq)), nil, 0o644); err != nil {
		return nil, fmt.Errorf("stage %s: %w", r.Dir, err)
	}
	return stageCreator{dir: sdir, prefix: r.Dir + "/"}, nil
}

// stageCreator writes files into a staging folder; keys start with
// prefix, the folder that the staging folder stands for.
type stageCreator struct{ dir, prefix string }

// place returns the path of key's file in the staging folder.
func (s stageCreator) place(key string) (string, error) {
	rel, ok := strings.CutPrefix(key, s.prefix)
	if !ok {
		return "", fmt.Errorf("create %s: %w: outside the staged folder %s", key, errBadKey, s.prefix)
	}
	return filepath.Join(s.dir, filepath.FromSlash(rel)), nil
}

func (s stageCreator) Create(ctx context.Context, key string) (PendingFile, error) {
	dst, err := s.place(key)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return nil, fmt.Errorf("create folder of %s: %w", key, err)
	}
	f, err := os.CreateTemp(filepath.Dir(dst), tempPrefix+"*-"+path.Base(key)+".tmp")
	if err != nil {
		return nil, fmt.Errorf("create temporary file for %s: %w", key, err)
	}
	return &dirFile{f: f, dst: dst}, nil
}

func (d *DirStore) exchange(r swapRecord) error {
	live, err := d.path(r.Dir)
	if err != nil {
		return err
	}
	if err := exchangeDirs(filepath.Join(d.stageRoot(), r.Stage), live); err != nil {
		return fmt.Errorf("exchange %s with its staged files: %w", r.Dir, err)
	}
	syncDir(filepath.Dir(live))
	syncDir(d.stageRoot())
	return nil
}

func (d *DirStore) exchanged(r swapRecord, seq int64) (bool, error) {
	live, err := d.path(r.Dir)
	if err != nil {
		return false, err
	}
	_, err = os.Stat(filepath.Join(live, swapMarker(seq)))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	}
	return false, fmt.Errorf("exchange of %s: %w", r.Dir, err)
}

func (d *DirStore) staged(r swapRecord) (bool, error) {
	_, err := os.Stat(filepath.Join(d.stageRoot(), r.Stage))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	}
	return false, err
}

func (d *DirStore) removeStage(r swapRecord, seq int64) error {
	live, err := d.path(r.Dir)
	if err != nil {
		return err
	}
	if err := os.RemoveAll(filepath.Join(d.stageRoot(), r.Stage)); err != nil {
		return fmt.Errorf("remove staged files of %s: %w", r.Dir, err)
	}
	if err := os.Remove(filepath.Join(live, swapMarker(seq))); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove staged files of %s: %w", r.Dir, err)
	}
	syncDir(live)
	os.Remove(d.stageRoot()) // when empty
	return nil
}

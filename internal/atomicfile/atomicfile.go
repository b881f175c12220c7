// Package atomicfile writes output files so that they never look finished when they
// are not: the content goes to a temporary file in the destination's directory, which
// is renamed into place only once everything was written, synced and closed without an
// error. A run killed half-way, a full disk or a failed write leaves the previous file
// (or none) and at most a hidden temporary file ".NAME.tmp-*", never a file cut short.
package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// A File is an output file being written under a temporary name. Write to it, then
// Commit; Abort (safe after Commit, and more than once) removes the temporary file.
type File struct {
	*os.File
	path   string
	done   bool
	direct bool // path is a device or FIFO (/dev/stdout): written in place
}

// TempPattern is the name pattern of temporary files (os.CreateTemp), after the
// destination's base name: ".results.jsonl" is written as "..results.jsonl.tmp-123".
const TempPattern = ".tmp-*"

// open is every File not yet committed or aborted, for AbortAll.
var open struct {
	mu    sync.Mutex
	files map[*File]bool
}

// Create starts writing path: it creates a temporary file next to it. A path that
// exists and is not a regular file (/dev/stdout, a FIFO) cannot be replaced by a
// rename: it is opened and written in place.
func Create(path string) (*File, error) {
	if st, err := os.Stat(path); err == nil && !st.Mode().IsRegular() && !st.IsDir() {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
		if err != nil {
			return nil, fmt.Errorf("create %s: %w", path, err)
		}
		return &File{File: f, path: path, direct: true}, nil
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+TempPattern)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", path, err)
	}
	f := &File{File: tmp, path: path}
	open.mu.Lock()
	if open.files == nil {
		open.files = map[*File]bool{}
	}
	open.files[f] = true
	open.mu.Unlock()
	return f, nil
}

// Write writes to the temporary file; an error names the destination path, not the
// temporary name.
func (f *File) Write(b []byte) (int, error) {
	n, err := f.File.Write(b)
	var pe *os.PathError
	if errors.As(err, &pe) {
		err = &os.PathError{Op: pe.Op, Path: f.path, Err: pe.Err}
	}
	return n, err
}

// Path returns the destination path.
func (f *File) Path() string { return f.path }

// Commit syncs and closes the temporary file and renames it to the destination. On an
// error the temporary file is removed and the destination is left as it was.
func (f *File) Commit() error {
	if f.done {
		return fmt.Errorf("commit %s: already committed or aborted", f.path)
	}
	if f.direct {
		f.done = true
		if err := f.File.Close(); err != nil {
			return fmt.Errorf("write %s: %w", f.path, err)
		}
		return nil
	}
	err := f.File.Sync()
	if cerr := f.File.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.File.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(f.File.Name(), f.path)
	}
	if err != nil {
		f.Abort()
		return fmt.Errorf("write %s: %w", f.path, err)
	}
	f.forget()
	return nil
}

// Abort closes and removes the temporary file; the destination is left as it was.
// It does nothing after Commit or a first Abort.
func (f *File) Abort() error {
	if f.done {
		return nil
	}
	if f.direct {
		f.done = true
		return f.File.Close()
	}
	f.forget()
	f.File.Close()
	if err := os.Remove(f.File.Name()); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

func (f *File) forget() {
	f.done = true
	open.mu.Lock()
	delete(open.files, f)
	open.mu.Unlock()
}

// AbortAll aborts every File of the process not yet committed: for a program that
// is about to exit on a signal.
func AbortAll() {
	open.mu.Lock()
	fs := make([]*File, 0, len(open.files))
	for f := range open.files {
		fs = append(fs, f)
	}
	open.mu.Unlock()
	for _, f := range fs {
		f.Abort()
	}
}

// WriteFile writes path with fn, atomically: path holds either its old content (or
// does not exist) or everything fn wrote, never part of it.
func WriteFile(path string, fn func(io.Writer) error) error {
	f, err := Create(path)
	if err != nil {
		return err
	}
	if err := fn(f); err != nil {
		f.Abort()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Commit()
}

// IsTemp reports whether name (a base name) is one of our temporary files.
func IsTemp(name string) bool {
	if !strings.HasPrefix(name, ".") {
		return false
	}
	i := strings.LastIndex(name, ".tmp-")
	return i > 0
}

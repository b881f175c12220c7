package scenarios

import (
	"bytes"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"

	"github.com/hnspath/hnspath/internal/input"
)

// files is where scenario files and the files they name (topologies,
// captures) are read from: the operating system or an fs.FS (the
// embedded library).
type files interface {
	ReadFile(name string) ([]byte, error)
	Open(name string) (io.ReadCloser, error)
	// Join resolves rel against the directory of file.
	Join(file, rel string) string
}

// osFiles reads the files a user names. ReadFile is bounded by input.Limit
// (--max-input): a file over it is refused, naming the file and the limit.
type osFiles struct{}

func (osFiles) ReadFile(name string) ([]byte, error)    { return input.ReadFile(name, 0) }
func (osFiles) Open(name string) (io.ReadCloser, error) { return os.Open(name) }
func (osFiles) Join(file, rel string) string {
	if filepath.IsAbs(rel) {
		return rel
	}
	return filepath.Join(filepath.Dir(file), filepath.FromSlash(rel))
}

type fsFiles struct{ fsys fs.FS }

func (f fsFiles) ReadFile(name string) ([]byte, error)    { return fs.ReadFile(f.fsys, name) }
func (f fsFiles) Open(name string) (io.ReadCloser, error) { return f.fsys.Open(name) }
func (f fsFiles) Join(file, rel string) string            { return path.Join(path.Dir(file), rel) }

// memFiles holds files in memory (tests, fuzzing).
type memFiles map[string][]byte

func (m memFiles) ReadFile(name string) ([]byte, error) {
	b, ok := m[name]
	if !ok {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return b, nil
}

func (m memFiles) Open(name string) (io.ReadCloser, error) {
	b, err := m.ReadFile(name)
	if err != nil {
		return nil, err
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

func (memFiles) Join(file, rel string) string { return path.Join(path.Dir(file), rel) }

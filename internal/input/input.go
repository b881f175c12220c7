// Package input reads the files a user hands to hnspath (topologies, scenarios, HNS
// dumps, baselines, results) with a bound on their size, so that /dev/zero, a FIFO or
// a huge file is refused quickly with an error that names the file and the limit,
// instead of being read whole into memory.
package input

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// DefaultLimit is the size limit of one input file unless a caller sets another:
// 64 MiB, far above any real topology, scenario, HNS dump or results file of one run.
const DefaultLimit int64 = 64 << 20

// Limit is the size limit ReadFile applies when it is given 0. Commands set it from a
// flag (--max-input); it is read, never written, while files are being read.
var Limit = DefaultLimit

// TooLargeError says that an input file is over the size limit.
type TooLargeError struct {
	File  string
	Limit int64
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("%s: input larger than the limit of %d bytes (raise it with --max-input)", e.File, e.Limit)
}

// ErrTooLarge matches every *TooLargeError with errors.Is.
var ErrTooLarge = errors.New("input larger than the limit")

// Is reports whether target is ErrTooLarge.
func (e *TooLargeError) Is(target error) bool { return target == ErrTooLarge }

// ReadFile reads the file name whole if it is at most limit bytes (0: Limit). A regular
// file over the limit is refused from its size without reading; anything else (a
// device, a FIFO, standard input as "-") is read up to limit+1 bytes and refused there.
func ReadFile(name string, limit int64) ([]byte, error) {
	if limit <= 0 {
		limit = Limit
	}
	if name == "-" {
		return ReadAll(name, os.Stdin, limit)
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && fi.Size() > limit {
		return nil, &TooLargeError{File: name, Limit: limit}
	}
	return ReadAll(name, f, limit)
}

// ReadAll reads r to its end if it holds at most limit bytes (0: Limit); name is used
// in the error.
func ReadAll(name string, r io.Reader, limit int64) ([]byte, error) {
	if limit <= 0 {
		limit = Limit
	}
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if int64(len(b)) > limit {
		return nil, &TooLargeError{File: name, Limit: limit}
	}
	return b, nil
}

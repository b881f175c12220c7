package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// dirNames lists the names in dir.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

func TestWriteFile(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name    string
		old     string // content before, "" for none
		fn      func(io.Writer) error
		want    string // content after, "" for no file
		wantErr bool
	}{
		{"new", "", func(w io.Writer) error { _, err := io.WriteString(w, "all\n"); return err }, "all\n", false},
		{"replace", "old\n", func(w io.Writer) error { _, err := io.WriteString(w, "new\n"); return err }, "new\n", false},
		{"fail keeps nothing", "", func(w io.Writer) error { io.WriteString(w, "half"); return boom }, "", true},
		{"fail keeps old", "old\n", func(w io.Writer) error { io.WriteString(w, "half"); return boom }, "old\n", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "out.jsonl")
			if tt.old != "" {
				if err := os.WriteFile(path, []byte(tt.old), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			err := WriteFile(path, tt.fn)
			if (err != nil) != tt.wantErr || tt.wantErr && !errors.Is(err, boom) {
				t.Errorf("WriteFile: got %v, want error %v", err, tt.wantErr)
			}
			b, rerr := os.ReadFile(path)
			switch {
			case tt.want == "" && rerr == nil:
				t.Errorf("got a file %q, want none", b)
			case tt.want != "" && string(b) != tt.want:
				t.Errorf("got %q (%v), want %q", b, rerr, tt.want)
			}
			if n := dirNames(t, dir); len(n) != map[bool]int{true: 0, false: 1}[tt.want == ""] {
				t.Errorf("directory holds %q: a temporary file was left", n)
			}
			if st, err := os.Stat(path); err == nil && st.Mode().Perm() != 0o644 {
				t.Errorf("mode %v, want 0644", st.Mode().Perm())
			}
		})
	}
}

// TestUnfinishedIsHidden checks that a file being written is invisible under its name
// until Commit, and that AbortAll removes what was not committed.
func TestUnfinishedIsHidden(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.results.jsonl")
	f, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(f, `{"packet":1,"outcome":"deliv`)
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("before Commit: stat %s: got %v, want not exist", path, err)
	}
	n := dirNames(t, dir)
	if len(n) != 1 || !IsTemp(n[0]) {
		t.Errorf("before Commit: directory holds %q, want one temporary file", n)
	}
	AbortAll()
	if n := dirNames(t, dir); len(n) != 0 {
		t.Errorf("after AbortAll: directory holds %q, want nothing", n)
	}
	if err := f.Commit(); err == nil {
		t.Errorf("Commit after AbortAll: got nil, want an error")
	}
	if IsTemp("a.results.jsonl") || IsTemp(".hidden") {
		t.Errorf("IsTemp takes ordinary names for temporary files")
	}
}

// TestWriteError: a write error (a full disk, a closed file) must reach the
// caller and leave no destination file.
func TestWriteError(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x")
	f, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	f.File.Close() // every later write fails, as on a full disk
	if _, err := f.Write([]byte("x")); err == nil || !strings.Contains(err.Error(), path+":") {
		t.Fatalf("write to a closed file: got %v, want an error naming %s", err, path)
	}
	if err := f.Commit(); err == nil {
		t.Errorf("Commit of a file whose writes failed: got nil, want an error")
	}
	if n := dirNames(t, dir); len(n) != 0 {
		t.Errorf("directory holds %q, want nothing", n)
	}
}

// TestDevice writes to a path that is a device: it is written in place.
func TestDevice(t *testing.T) {
	if err := WriteFile(os.DevNull, func(w io.Writer) error { _, err := io.WriteString(w, "x"); return err }); err != nil {
		t.Errorf("WriteFile(%s): %v", os.DevNull, err)
	}
	if err := WriteFile("/dev/full", func(w io.Writer) error { _, err := io.WriteString(w, "x"); return err }); err == nil {
		t.Errorf("WriteFile(/dev/full): got nil, want the device's write error")
	}
}

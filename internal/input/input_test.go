package input

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	small := filepath.Join(dir, "small.yaml")
	if err := os.WriteFile(small, []byte("name: x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := ReadFile(small, 100)
	if err != nil || string(b) != "name: x\n" {
		t.Fatalf("ReadFile(small) = %q, %v; want the file", b, err)
	}
	big := filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(big, []byte(strings.Repeat("a", 101)), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = ReadFile(big, 100)
	var tl *TooLargeError
	if !errors.As(err, &tl) || tl.File != big || tl.Limit != 100 || !errors.Is(err, ErrTooLarge) {
		t.Fatalf("ReadFile(big) error = %v; want a TooLargeError naming the file and the limit", err)
	}
	if !strings.Contains(err.Error(), big) || !strings.Contains(err.Error(), "100 bytes") {
		t.Errorf("error %q: want the file and the limit named", err)
	}
	if _, err := ReadFile(filepath.Join(dir, "missing"), 100); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ReadFile(missing) = %v; want ErrNotExist", err)
	}
}

// TestDevZero checks that an endless input is refused after limit+1 bytes.
func TestDevZero(t *testing.T) {
	if _, err := os.Stat("/dev/zero"); err != nil {
		t.Skip("no /dev/zero")
	}
	_, err := ReadFile("/dev/zero", 1<<20)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("ReadFile(/dev/zero) = %v; want ErrTooLarge", err)
	}
}

// Package library is hnspath's built-in scenario library: scenario files
// (*.yaml) and the topologies they share (topologies/*.yaml), embedded in
// the binary with go:embed. `hnspath run` without arguments runs them all.
//
// Every expectation in the library comes from documented behaviour, cited
// in each file's summary and sources (reference/windows-behaviour.md and
// the documents it cites), not from what the emulator happens to do: when
// the emulator disagrees with the documentation, the scenario fails.
//
// Files are loaded with scenarios.LoadAllFS(library.FS(), ".", library.Display).
package library

import (
	"embed"
	"io/fs"
)

//go:embed *.yaml topologies/*.yaml
var files embed.FS

// FS returns the library's files.
func FS() fs.FS { return files }

// Display returns the name a library file is shown under in messages:
// "library/NAME".
func Display(name string) string { return "library/" + name }

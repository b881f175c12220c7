// Package library is hnspath's built-in scenario library: scenario files
// (*.yaml) and the topologies they share (topologies/*.yaml), embedded in
// the binary with go:embed. `hnspath run` without arguments runs them all.
//
// Every expectation in the library comes from documented behaviour, cited
// in each file's summary and sources (docs/windows-behaviour.md and
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

// KnownFindings returns the library scenarios where the emulator disagrees
// with the documented behaviour, each with what the emulator does instead.
// Their expectations stay as documented, so they fail: `hnspath run`
// reports them as failures, and scenarios' TestLibrary checks that they
// still fail (a fixed emulator takes them off this list). The map is a
// copy.
func KnownFindings() map[string]string {
	m := make(map[string]string, len(knownFindings))
	for k, v := range knownFindings {
		m[k] = v
	}
	return m
}

var knownFindings = map[string]string{
	// Empty: every library scenario passes. Both earlier findings were fixed
	// in the emulator: loopback DSR replies (a reply steered to its own
	// port by the hairpin pool goes back in, through its In layers) and the
	// management OS's own connections (replies to what it sent are delivered).
}

// Package emulator is the root of hnspath's userspace model of the Windows
// container packet path. Its subpackages use only the standard library;
// TestDeps checks the import rules of docs/design.md §1.
package emulator

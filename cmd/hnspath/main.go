// Command hnspath emulates the packet path of a Windows container host
// (HNS, WinNAT, Hyper-V vSwitch and VFP), runs pcap-driven scenarios through
// it, benchmarks it and compares it with real datapaths.
//
// Exit codes: 0 success or --help; 1 the run failed (bad input, I/O error,
// an expectation not met, a regression); 2 bad flags or arguments; 3 the
// host does not support the command.
package main

import (
	"errors"
	"fmt"
	"github.com/hnspath/hnspath/internal/suggest"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/spf13/pflag"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// command is a subcommand.
type command struct {
	name    string
	summary string
	usage   string // arguments after the command name
	run     func(args []string, stdout, stderr io.Writer) int
}

var commands = map[string]*command{}

func register(c *command) { commands[c.name] = c }

// Exit codes.
const (
	exitOK          = 0
	exitFail        = 1
	exitUsage       = 2
	exitUnsupported = 3
)

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	name := args[0]
	switch name {
	case "help", "-h", "--help":
		if len(args) > 1 {
			if c, ok := commands[args[1]]; ok {
				return c.run([]string{"--help"}, stdout, stderr)
			}
			fmt.Fprintf(stderr, "hnspath help: unknown command %q%s\n", args[1], suggest.Hint(args[1], commandNames()))
			return exitUsage
		}
		usage(stdout)
		return exitOK
	}
	c, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "hnspath: unknown command %q%s\n\n", name, suggest.Hint(name, commandNames()))
		usage(stderr)
		return exitUsage
	}
	return c.run(args[1:], stdout, stderr)
}

// commandNames returns the registered commands' names, sorted.
func commandNames() []string {
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "hnspath: a userspace model of the Windows container packet path (HNS, WinNAT, vSwitch, VFP)")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage: hnspath <command> [flags] [arguments]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	for _, n := range commandNames() {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "  help       show this list, or a command's flags: hnspath help <command>")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'hnspath <command> --help' for a command's flags.")
}

// newFlags returns a FlagSet for a command, with usage wired up as
// docs/style.md §3 asks (pflag's Usage is nil by default).
func newFlags(c *command, stderr io.Writer) *pflag.FlagSet {
	fs := pflag.NewFlagSet(c.name, pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.SortFlags = false
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: hnspath %s %s\n\n%s\n\nFlags:\n", c.name, c.usage, c.summary)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args and returns the exit code to use when parsing
// ended the command (help: 0; bad flags: 2), or -1 to go on.
func parseFlags(fs *pflag.FlagSet, args []string, stderr io.Writer) int {
	if fs.Lookup("max-input") == nil {
		addMaxInput(fs) // every command, after its own flags
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return exitOK
		}
		fmt.Fprintf(stderr, "hnspath %s: %v\n", fs.Name(), err)
		fs.Usage()
		return exitUsage
	}
	applyMaxInput(fs)
	return -1
}

// fail prints an error for command name and returns exitFail.
func fail(stderr io.Writer, name string, err error) int {
	msg := err.Error()
	if !strings.HasSuffix(msg, "\n") {
		msg += "\n"
	}
	fmt.Fprintf(stderr, "hnspath %s: %s", name, msg)
	return exitFail
}

// usageErr prints a usage error and returns exitUsage.
func usageErr(stderr io.Writer, fs *pflag.FlagSet, format string, args ...any) int {
	fmt.Fprintf(stderr, "hnspath %s: %s\n", fs.Name(), fmt.Sprintf(format, args...))
	fs.Usage()
	return exitUsage
}

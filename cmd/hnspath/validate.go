package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/hnspath/hnspath/emulator/fabric"
	"github.com/hnspath/hnspath/internal/input"
	"github.com/hnspath/hnspath/scenarios"
)

func init() {
	register(&command{name: "validate", summary: "check topology and scenario files as HNS would (all problems, file:line: field: message)",
		usage: "file...", run: runValidate})
}

func runValidate(args []string, stdout, stderr io.Writer) int {
	c := commands["validate"]
	fs := newFlags(c, stderr)
	if code := parseFlags(fs, args, stderr); code >= 0 {
		return code
	}
	if fs.NArg() == 0 {
		return usageErr(stderr, fs, "give one or more topology or scenario files")
	}
	code := exitOK
	for _, path := range fs.Args() {
		msg, err := validateFile(path)
		if err != nil {
			code = exitFail
			var errs scenarios.Errors
			if errors.As(err, &errs) {
				for _, e := range errs {
					fmt.Fprintln(stdout, e)
				}
			} else {
				fmt.Fprintf(stdout, "%s: %v\n", path, err)
			}
			continue
		}
		fmt.Fprintf(stdout, "%s: ok%s\n", path, msg)
	}
	return code
}

// validateFile checks a topology file (a top-level hosts key) or a
// scenario file.
func validateFile(path string) (string, error) {
	data, err := input.ReadFile(path, 0)
	if err != nil {
		return "", err
	}
	if scenarios.IsTopology(data, path) {
		t, err := scenarios.ParseTopology(path, data)
		if err != nil {
			return "", err
		}
		f, err := t.Build(fabric.Options{})
		if err != nil {
			return "", err
		}
		return fmt.Sprintf(" (topology: %d ports)", len(f.Ports())), nil
	}
	sc, err := scenarios.Parse(path, data)
	if err != nil {
		return "", err
	}
	if sc.ExpectError != nil {
		rep := scenarios.Run(sc, scenarios.Options{})
		if !rep.Passed {
			return "", fmt.Errorf("%s", rep.Failures[0])
		}
		return " (scenario; the topology is rejected as expected: " + rep.Rejection + ")", nil
	}
	return fmt.Sprintf(" (scenario %s: %d packet entries, %d expectations)", sc.Name, len(sc.Packets), len(sc.Expect)), nil
}

package modes

import "github.com/hnspath/hnspath/scenarios"

// InputError is a problem in a workload or flows file, located by file,
// line and column and by the field's path (docs/style.md §3). It is the
// scenario files' error type, so both print and unwrap the same way.
type InputError = scenarios.InputError

// Errors are every problem found in one file, in line order.
type Errors = scenarios.Errors

package windows

import "time"

// Options tune the Windows backend.
type Options struct {
	// Host is the topology host to build (default: the only host).
	Host string
	// Prefix is the session prefix (default: a fresh NewPrefix).
	Prefix string
	// WorkDir receives the ETL and pcapng files (default: the temporary directory).
	WorkDir string
	// Gap is the time between two inputs, so that a captured packet can be told to
	// belong to one (default DefaultGap).
	Gap time.Duration
	// CloseOnSignal tears the objects down on SIGINT/SIGTERM and exits.
	CloseOnSignal bool
}

// DefaultGap is the default time between inputs.
const DefaultGap = 250 * time.Millisecond

package bench

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/hnspath/hnspath/bench/result"
)

// hostConfig returns the configuration lines of a run: goos, goarch, pkg, cpu, commit
// (as `go test -bench` writes the first four), then opt.Config.
func hostConfig(ctx context.Context, opt Options) ([]KV, error) {
	cpu := opt.CPU
	if cpu == "" {
		cpu = cpuName()
	}
	commit := opt.Commit
	if commit == "" {
		commit = commitID(ctx)
	}
	cfg := []KV{
		{Key: "goos", Value: runtime.GOOS},
		{Key: "goarch", Value: runtime.GOARCH},
		{Key: "pkg", Value: Pkg},
		{Key: "cpu", Value: cpu},
		{Key: "commit", Value: commit},
	}
	for _, kv := range opt.Config {
		for _, have := range cfg {
			if have.Key == kv.Key {
				return nil, fmt.Errorf("%w: config key %q is set by the runner", ErrOptions, kv.Key)
			}
		}
		cfg = append(cfg, kv)
	}
	if err := result.ValidateConfig(cfg); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrOptions, err)
	}
	return cfg, nil
}

// cpuName returns the processor model: the first "model name" of /proc/cpuinfo on
// Linux, "unknown" elsewhere or when it cannot be read.
func cpuName() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == "model name" {
			if v = strings.TrimSpace(v); v != "" {
				return v
			}
		}
	}
	return "unknown"
}

// commitID returns the VCS revision the binary was built from (with "-dirty" when the
// tree was modified), else the output of `git rev-parse HEAD` in the working
// directory, else "unknown".
func commitID(ctx context.Context) string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		var rev, modified string
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				modified = s.Value
			}
		}
		if rev != "" {
			if modified == "true" {
				rev += "-dirty"
			}
			return rev
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "git", "rev-parse", "HEAD").Output()
	if rev := strings.TrimSpace(string(out)); err == nil && rev != "" && !strings.ContainsAny(rev, " \n") {
		return rev
	}
	return "unknown"
}

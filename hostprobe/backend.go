package hostprobe

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hnspath/hnspath/emulator/fabric"
	"github.com/hnspath/hnspath/result"
)

// Input is one frame to inject: at a port named as the emulator names it
// (HOST/ENDPOINT, HOST/host, HOST/NIC, PEER, router; docs/design.md §2), at a
// virtual time. Real backends inject in order and ignore the gaps between
// times (they wait for each frame's effects instead).
type Input struct {
	Port   string
	Frame  []byte
	TimeNS int64
	// Note is carried into the result's pcapng comment by callers that write one.
	Note string
	// Steps are HNS changes (a scenario's `do:` entries) a backend makes, in order,
	// before it injects the frame.
	Steps []Step
}

// StepAction is the kind of HNS change a Step makes.
type StepAction string

// Step actions, named as in scenario files (docs/scenarios.md, "Steps").
const (
	// StepRemoveEndpoint deletes an endpoint: its vNIC is disabled; load balancers
	// keep it as a backend until they are updated.
	StepRemoveEndpoint StepAction = "remove_endpoint"
	// StepUpdateLoadBalancer replaces a load balancer's backends
	// (HcnModifyLoadBalancer).
	StepUpdateLoadBalancer StepAction = "update_load_balancer"
)

// Step is an HNS change made between two inputs.
type Step struct {
	Action StepAction
	// Host is the host whose objects change.
	Host string
	// Endpoint is the endpoint to remove (StepRemoveEndpoint), by name or ID.
	Endpoint string
	// LoadBalancer and Endpoints are the load balancer to update and its new backends,
	// by name or ID (StepUpdateLoadBalancer).
	LoadBalancer string
	Endpoints    []string
}

// String describes s as a scenario file writes it, e.g. "remove_endpoint host1/pod-b".
func (s Step) String() string {
	switch s.Action {
	case StepRemoveEndpoint:
		return fmt.Sprintf("%s %s/%s", s.Action, s.Host, s.Endpoint)
	case StepUpdateLoadBalancer:
		return fmt.Sprintf("%s %s/%s endpoints [%s]", s.Action, s.Host, s.LoadBalancer, strings.Join(s.Endpoints, ", "))
	}
	return fmt.Sprintf("step %q", string(s.Action))
}

// Apply makes the change in an emulator fabric.
func (s Step) Apply(f *fabric.Fabric) error {
	switch s.Action {
	case StepRemoveEndpoint:
		return f.RemoveEndpoint(s.Host, s.Endpoint)
	case StepUpdateLoadBalancer:
		return f.UpdateLoadBalancer(s.Host, s.LoadBalancer, s.Endpoints)
	}
	return fmt.Errorf("%v: unknown action", s)
}

// NotBuilt is a part of a topology that a backend did not build, with what it would
// change: the comparison labels a packet's differences with it when the packet passed
// the part in the reference run (Comparison.MarkNotBuilt), so that they count as
// partial, not as differences of what was built.
type NotBuilt struct {
	// What says what was left out and why.
	What string
	// Rules are prefixes of VFP rule names (the emulator's, as in results' traces) of the
	// part: a reference packet whose trace names one of them passed it.
	Rules []string
	// Ports are the emulator ports whose traffic the part handles: a packet injected or
	// seen at one of them passed it.
	Ports []string
}

// String returns What.
func (n NotBuilt) String() string { return n.What }

// Workload is traffic for a throughput measurement: frames injected at one
// port, counted where they come out at the sink ports.
type Workload struct {
	// Name labels the workload in reports.
	Name string
	// In is the injection port.
	In string
	// Frames are replayed in a loop; a backend must not modify them.
	Frames [][]byte
	// Sinks are the ports where a forwarded frame is counted (delivered there).
	Sinks []string
	// Duration is how long to measure (default 1 s).
	Duration time.Duration
	// Batch is the number of frames per batch (default 64).
	Batch int
}

// Throughput is the result of a throughput measurement.
type Throughput struct {
	Backend  string
	Workload string
	// Sent is the number of frames injected, Received how many came out at a sink.
	Sent, Received uint64
	// Elapsed is the measured time.
	Elapsed time.Duration
}

// PPS returns received packets per second.
func (t Throughput) PPS() float64 {
	if t.Elapsed <= 0 {
		return 0
	}
	return float64(t.Received) / t.Elapsed.Seconds()
}

// Backend is one datapath that runs scenarios: the emulator, the Linux
// kernel (hostprobe/linux) or a Windows host (hostprobe/windows). Every
// backend returns the results type of the emulator (package
// result), with the emulator's port names, so that any two runs
// can be compared (Compare, `hnspath diff`).
//
// A Backend is used in this order: Setup once with a topology, then any
// number of Run and Throughput calls, then Close. Close must be called even
// when Setup failed; it removes everything the backend made and may be
// called more than once.
type Backend interface {
	// Name returns the backend's name, one of result.BackendEmulator,
	// result.BackendLinux, result.BackendWindows.
	Name() string
	// Setup builds the topology.
	Setup(ctx context.Context, topo *fabric.Topology) error
	// Run injects the inputs in order and returns one result per input,
	// with Scenario set to scenario and Index to the input's 1-based position.
	Run(ctx context.Context, scenario string, inputs []Input, opts RunOptions) ([]*result.Packet, error)
	// Throughput measures how many of w's frames the datapath forwards to the
	// sinks per second.
	Throughput(ctx context.Context, w Workload) (Throughput, error)
	// Close tears down what Setup built.
	Close() error
}

// RunOptions are hooks of Backend.Run, called in input order from Run's goroutine.
type RunOptions struct {
	// Before, when set, is called before input i (0-based) is injected and returns
	// the input to inject instead (e.g. with NAT ports translated through bindings).
	Before func(i int, in Input) Input
	// After, when set, is called with each result as soon as it is known.
	After func(i int, p *result.Packet)
}

// Input returns input i after the Before hook; backends call it.
func (o RunOptions) Input(i int, in Input) Input {
	if o.Before != nil {
		return o.Before(i, in)
	}
	return in
}

// Done calls the After hook; backends call it.
func (o RunOptions) Done(i int, p *result.Packet) {
	if o.After != nil {
		o.After(i, p)
	}
}

// ErrNotSetUp is returned by Run and Throughput before a successful Setup.
var ErrNotSetUp = errors.New("backend is not set up")

// Outcome derives a packet's outcome from its outputs and drops, as the
// emulator does: delivered when a frame reached an end point, dropped when
// nothing did and something was dropped, consumed otherwise.
func Outcome(p *result.Packet) string {
	for _, o := range p.Outputs {
		if o.Kind == result.KindDelivered {
			return result.OutcomeDelivered
		}
	}
	if len(p.Drops) > 0 {
		return result.OutcomeDropped
	}
	return result.OutcomeConsumed
}

// CheckWorkload validates w and fills in the defaults of Duration and
// Batch; backends call it at the start of Throughput.
func CheckWorkload(w *Workload) error {
	if w.In == "" {
		return fmt.Errorf("workload %q: no injection port", w.Name)
	}
	if len(w.Frames) == 0 {
		return fmt.Errorf("workload %q: no frames", w.Name)
	}
	if len(w.Sinks) == 0 {
		return fmt.Errorf("workload %q: no sink ports", w.Name)
	}
	if w.Duration <= 0 {
		w.Duration = time.Second
	}
	if w.Batch <= 0 {
		w.Batch = 64
	}
	return nil
}

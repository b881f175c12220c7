package result

import (
	"fmt"
	"sort"
)

// FleetSchema names the JSON layout of a Fleet (WriteFleet json). Fields
// are only added within v1.
const FleetSchema = "hnspath-fleet/v1"

// Fleet is the report of one fleet run (hnspath fleet run): the probe on
// every selected Windows node of a cluster, each compared with the model.
type Fleet struct {
	Schema string `json:"schema"`
	// Run is the run's ID (the label value on everything it created).
	Run   string `json:"run"`
	Image string `json:"image,omitempty"`
	// Scenarios are the scenario names, in the order of the matrix.
	Scenarios []string    `json:"scenarios"`
	Nodes     []FleetNode `json:"nodes"`
	// Groups are the differences from the model, each with the nodes that
	// show it (Group fills them in).
	Groups []FleetGroup `json:"groups,omitempty"`
}

// Node statuses.
const (
	FleetRan    = "ran"     // the probe ran and its results were gathered
	FleetNotRun = "not run" // no results: see Reason and Why
)

// Reasons a node could not run.
const (
	FleetReasonNoHostProcess = "no HostProcess support"
	FleetReasonImagePull     = "image pull"
	FleetReasonTimeout       = "timeout"
	FleetReasonRejected      = "rejected"
	FleetReasonInterrupted   = "interrupted"
	FleetReasonError         = "error"
)

// FleetNode is one node's part of a fleet run.
type FleetNode struct {
	Name string `json:"name"`
	// OSImage and OSBuild come from the node (the Node object's nodeInfo,
	// the registry's CurrentBuild.UBR as the pod read it).
	OSImage    string `json:"os_image,omitempty"`
	OSBuild    string `json:"os_build,omitempty"`
	HNSVersion string `json:"hns_version,omitempty"`
	Status     string `json:"status"`
	// Reason classifies why a node did not run (Reason* constants); Why is
	// the cluster's own message.
	Reason string `json:"reason,omitempty"`
	Why    string `json:"why,omitempty"`
	// ProbeExit is the exit code of hnspath probe on the node.
	ProbeExit int           `json:"probe_exit"`
	Results   []FleetResult `json:"results,omitempty"`
	// Files are the files gathered from the node (results, evidence), as
	// written under the output directory.
	Files []string `json:"files,omitempty"`
}

// FleetResult is one scenario's result on one node (the probe's summary.json
// row and its diff.txt).
type FleetResult struct {
	Scenario     string      `json:"scenario"`
	Result       string      `json:"result"`
	Packets      int         `json:"packets"`
	Differing    int         `json:"differing"`
	Undocumented int         `json:"undocumented"`
	Documented   []string    `json:"documented,omitempty"`
	Error        string      `json:"error,omitempty"`
	Skipped      string      `json:"skipped,omitempty"`
	Diffs        []FleetDiff `json:"diffs,omitempty"`
}

// FleetDiff is one difference of one packet: the model (emulator) first,
// the node second, as the probe words it.
type FleetDiff struct {
	Packet int    `json:"packet"`
	In     string `json:"in"`
	Text   string `json:"text"`
}

// FleetGroup is one difference and the nodes that show it.
type FleetGroup struct {
	Scenario string   `json:"scenario"`
	Packet   int      `json:"packet"`
	In       string   `json:"in"`
	Text     string   `json:"text"`
	Nodes    []string `json:"nodes"`
}

// Group fills in f.Groups: every difference seen, with the nodes that show
// it, most widespread first (then by scenario, packet, text).
func (f *Fleet) Group() {
	type key struct {
		sc   string
		pkt  int
		in   string
		text string
	}
	idx := map[key]int{}
	f.Groups = nil
	for _, n := range f.Nodes {
		for _, r := range n.Results {
			for _, d := range r.Diffs {
				k := key{r.Scenario, d.Packet, d.In, d.Text}
				i, ok := idx[k]
				if !ok {
					i = len(f.Groups)
					idx[k] = i
					f.Groups = append(f.Groups, FleetGroup{Scenario: r.Scenario, Packet: d.Packet, In: d.In, Text: d.Text})
				}
				g := &f.Groups[i]
				if len(g.Nodes) == 0 || g.Nodes[len(g.Nodes)-1] != n.Name {
					g.Nodes = append(g.Nodes, n.Name)
				}
			}
		}
	}
	sort.SliceStable(f.Groups, func(i, j int) bool {
		a, b := f.Groups[i], f.Groups[j]
		if len(a.Nodes) != len(b.Nodes) {
			return len(a.Nodes) > len(b.Nodes)
		}
		if a.Scenario != b.Scenario {
			return a.Scenario < b.Scenario
		}
		if a.Packet != b.Packet {
			return a.Packet < b.Packet
		}
		return a.Text < b.Text
	})
}

// Headline sums the run up in one line.
func (f *Fleet) Headline() string {
	var agree, differ, notRun int
	for _, n := range f.Nodes {
		switch {
		case n.Status != FleetRan:
			notRun++
		case n.Agrees():
			agree++
		default:
			differ++
		}
	}
	return fmt.Sprintf("%d nodes: %d agree with the model, %d differ, %d could not run", len(f.Nodes), agree, differ, notRun)
}

// Agrees reports whether a node ran and every scenario agreed (no
// difference, no error).
func (n *FleetNode) Agrees() bool {
	if n.Status != FleetRan || n.ProbeExit != 0 {
		return false
	}
	for _, r := range n.Results {
		if r.Differing > 0 || len(r.Diffs) > 0 || r.Error != "" {
			return false
		}
	}
	return true
}

//go:build fleet

package fleet

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/hnspath/hnspath/reports"
	"github.com/hnspath/hnspath/result"
)

var update = flag.Bool("update", false, "rewrite golden files")

const testRun = "hnsf-test"

// frameLog writes a pod log the way run.ps1 does: the tagged lines, each
// file base64 in 76-column lines between begin and end.
func frameLog(run, node, build, hns string, files [][2]string, exit int) string {
	var b strings.Builder
	tag := "#hnspath-fleet " + run + " "
	fmt.Fprintf(&b, "%sstart %s\r\n%sinfo os-build %s\r\n%sinfo hns-version %s\r\n", tag, node, tag, build, tag, hns)
	b.WriteString("SCENARIO  RESULT (emulator vs windows)  PACKETS\r\n")
	for _, f := range files {
		enc := base64.StdEncoding.EncodeToString([]byte(f[1]))
		fmt.Fprintf(&b, "%sbegin %s\r\n", tag, f[0])
		for i := 0; i < len(enc); i += 76 {
			b.WriteString(enc[i:min(i+76, len(enc))] + "\r\n")
		}
		fmt.Fprintf(&b, "%send %s\r\n", tag, f[0])
	}
	fmt.Fprintf(&b, "%sdone %d\r\n", tag, exit)
	return b.String()
}

// summary is a probe summary.json (hnspath probe --out) for two
// scenarios, the second with differing packets.
func summary(differing int) string {
	res := "agrees"
	if differing > 0 {
		res = "differs"
	}
	return fmt.Sprintf(`{
  "backend": "windows",
  "scenarios": [
    {"name": "nat-outbound", "result": "agrees", "packets": 4, "differing": 0, "undocumented": 0},
    {"name": "l2bridge-acl-block", "result": %q, "packets": 3, "differing": %d, "undocumented": %d}
  ]
}
`, res, differing, differing)
}

// diffTxt is the probe's diff.txt (writeDiffs) for a node that drops what
// the model forwards.
const diffTxt = `l2bridge-acl-block: emulator vs windows
  packet 2 at host1/ep1:
    outcome: forwarded vs dropped (acl)
`

type sim struct {
	// waiting is the container waiting state per node (the pod never runs);
	// pending leaves a node's pod without status; createErr fails the create.
	waiting   map[string]corev1.ContainerStateWaiting
	pending   map[string]bool
	createErr map[string]error
	logs      map[string]string // by node
	onCreate  func(p *corev1.Pod)

	mu      sync.Mutex
	created []*corev1.Pod
}

func testNodes() []runtime.Object {
	var out []runtime.Object
	for i, n := range []string{"win-a", "win-b", "win-c"} {
		out = append(out, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n, Labels: map[string]string{"kubernetes.io/os": "windows"}},
			Status: corev1.NodeStatus{NodeInfo: corev1.NodeSystemInfo{OSImage: "Windows Server 2022 Datacenter", KernelVersion: fmt.Sprintf("10.0.20348.%d", 2700+i)},
				Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}}})
	}
	out = append(out, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "linux-1", Labels: map[string]string{"kubernetes.io/os": "linux"}}})
	return out
}

// newSim returns a fake cluster whose "kubelet" sets each pod's status as
// it is created (the create reactor edits the object the tracker stores).
func newSim(s *sim) *fake.Clientset {
	c := fake.NewClientset(testNodes()...)
	c.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		p := a.(k8stesting.CreateAction).GetObject().(*corev1.Pod)
		node := p.Annotations["hnspath.io/fleet-node"]
		s.mu.Lock()
		s.created = append(s.created, p.DeepCopy())
		s.mu.Unlock()
		if s.onCreate != nil {
			s.onCreate(p)
		}
		if err := s.createErr[node]; err != nil {
			return true, nil, err
		}
		switch {
		case s.pending[node]:
			p.Status = corev1.PodStatus{Phase: corev1.PodPending, Conditions: []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "Unschedulable", Message: "0/4 nodes are available"}}}
		case s.waiting[node].Reason != "":
			w := s.waiting[node]
			p.Status = corev1.PodStatus{Phase: corev1.PodPending, ContainerStatuses: []corev1.ContainerStatus{{Name: "probe", State: corev1.ContainerState{Waiting: &w}}}}
		default:
			p.Status = corev1.PodStatus{Phase: corev1.PodSucceeded, ContainerStatuses: []corev1.ContainerStatus{{Name: "probe",
				State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0, Reason: "Completed"}}}}}
		}
		return false, nil, nil
	})
	return c
}

func (s *sim) logsFunc(c *fake.Clientset) func(ctx context.Context, ns, pod string) (io.ReadCloser, error) {
	return func(ctx context.Context, ns, pod string) (io.ReadCloser, error) {
		p, err := c.CoreV1().Pods(ns).Get(ctx, pod, metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		l, ok := s.logs[p.Annotations["hnspath.io/fleet-node"]]
		if !ok {
			return nil, errors.New("no log")
		}
		return io.NopCloser(strings.NewReader(l)), nil
	}
}

func testOptions() Options {
	return Options{Run: testRun, Namespace: "hnspath", Image: "example.com/hnspath:v1",
		Files: map[string][]byte{"l2bridge-acl-block.yaml": []byte("name: l2bridge-acl-block\n"), "topologies/l2bridge.yaml": []byte("hosts: []\n")}}
}

func goodLogs() map[string]string {
	ok := [][2]string{{"probe/summary.json", summary(0)}}
	return map[string]string{
		"win-a": frameLog(testRun, "win-a", "20348.2700", "15.1", ok, 0),
		"win-b": frameLog(testRun, "win-b", "20348.2701", "15.1", [][2]string{{"probe/l2bridge-acl-block.diff.txt", diffTxt}, {"probe/summary.json", summary(1)}}, 0),
		"win-c": frameLog(testRun, "win-c", "20348.2702", "15.1", ok, 0),
	}
}

func newRunner(c *fake.Clientset, s *sim) *Runner {
	return &Runner{Client: c, Options: testOptions(), Poll: time.Millisecond, StartTimeout: time.Hour, Timeout: time.Hour,
		Scenarios: []string{"l2bridge-acl-block", "nat-outbound"}, Logs: s.logsFunc(c)}
}

// assertClean fails when anything the run created is still in the cluster.
func assertClean(t *testing.T, c *fake.Clientset) {
	t.Helper()
	pods, _ := c.CoreV1().Pods("").List(context.Background(), metav1.ListOptions{})
	cms, _ := c.CoreV1().ConfigMaps("").List(context.Background(), metav1.ListOptions{})
	if len(pods.Items) != 0 || len(cms.Items) != 0 {
		t.Errorf("left behind: %d pods, %d configmaps, want none", len(pods.Items), len(cms.Items))
	}
}

func nodeByName(t *testing.T, f *result.Fleet, name string) result.FleetNode {
	t.Helper()
	for _, n := range f.Nodes {
		if n.Name == name {
			return n
		}
	}
	t.Fatalf("node %s not in the report", name)
	return result.FleetNode{}
}

// TestRunPods checks the pods a run creates: one per Windows node, pinned
// to it, HostProcess as SYSTEM on the host network, tolerating the Windows
// taints, with requests, owned by the run's ConfigMap, the scenario files
// mounted at their paths.
func TestRunPods(t *testing.T) {
	s := &sim{logs: goodLogs()}
	c := newSim(s)
	r := newRunner(c, s)
	r.Out = t.TempDir()
	f, err := r.Run(context.Background())
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if len(s.created) != 3 {
		t.Fatalf("created %d pods, want 3 (the Windows nodes)", len(s.created))
	}
	for i, p := range s.created {
		node := []string{"win-a", "win-b", "win-c"}[i]
		terms := p.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
		if len(terms) != 1 || len(terms[0].MatchFields) != 1 || terms[0].MatchFields[0].Key != "metadata.name" || strings.Join(terms[0].MatchFields[0].Values, ",") != node {
			t.Errorf("pod %s: node affinity %+v, want metadata.name In [%s]", p.Name, terms, node)
		}
		wo := p.Spec.SecurityContext.WindowsOptions
		if wo == nil || wo.HostProcess == nil || !*wo.HostProcess || wo.RunAsUserName == nil || *wo.RunAsUserName != `NT AUTHORITY\SYSTEM` {
			t.Errorf("pod %s: windowsOptions %+v, want hostProcess as NT AUTHORITY\\SYSTEM", p.Name, wo)
		}
		if !p.Spec.HostNetwork || p.Spec.RestartPolicy != corev1.RestartPolicyNever {
			t.Errorf("pod %s: hostNetwork %v restartPolicy %s, want true Never", p.Name, p.Spec.HostNetwork, p.Spec.RestartPolicy)
		}
		tol := map[string]bool{}
		for _, tt := range p.Spec.Tolerations {
			tol[fmt.Sprintf("%s=%s:%s/%s", tt.Key, tt.Value, tt.Effect, tt.Operator)] = true
		}
		if !tol["os=windows:NoSchedule/Equal"] || !tol["node.kubernetes.io/os=windows:NoSchedule/Equal"] {
			t.Errorf("pod %s: tolerations %v, want os=windows:NoSchedule and node.kubernetes.io/os=windows:NoSchedule", p.Name, tol)
		}
		ct := p.Spec.Containers[0]
		if ct.Image != "example.com/hnspath:v1" || ct.Resources.Requests.Cpu().String() != "100m" || ct.Resources.Requests.Memory().String() != "256Mi" {
			t.Errorf("pod %s: image %s requests %v, want example.com/hnspath:v1 cpu 100m memory 256Mi", p.Name, ct.Image, ct.Resources.Requests)
		}
		if len(p.OwnerReferences) != 1 || p.OwnerReferences[0].Kind != "ConfigMap" || p.OwnerReferences[0].Name != testRun {
			t.Errorf("pod %s: owners %+v, want the ConfigMap %s", p.Name, p.OwnerReferences, testRun)
		}
		if p.Labels[LabelManagedBy] != ManagedBy || p.Labels[LabelRun] != testRun {
			t.Errorf("pod %s: labels %v", p.Name, p.Labels)
		}
		paths := map[string]string{}
		for _, it := range p.Spec.Volumes[0].ConfigMap.Items {
			paths[it.Path] = it.Key
		}
		if paths["scenarios/topologies/l2bridge.yaml"] == "" || paths["run.ps1"] == "" {
			t.Errorf("pod %s: volume items %v, want run.ps1 and scenarios/topologies/l2bridge.yaml", p.Name, paths)
		}
	}
	if got := f.Headline(); got != "3 nodes: 2 agree with the model, 1 differ, 0 could not run" {
		t.Errorf("headline %q", got)
	}
	b := nodeByName(t, f, "win-b")
	if b.OSBuild != "20348.2701" || b.HNSVersion != "15.1" || len(b.Results) != 2 {
		t.Errorf("win-b: %+v", b)
	}
	if data, err := os.ReadFile(filepath.Join(r.Out, "win-b", "probe", "l2bridge-acl-block.diff.txt")); err != nil || string(data) != diffTxt {
		t.Errorf("win-b's diff.txt written as %q, %v; want the node's bytes", data, err)
	}
	if len(f.Groups) != 1 || strings.Join(f.Groups[0].Nodes, ",") != "win-b" || f.Groups[0].Text != "outcome: forwarded vs dropped (acl)" {
		t.Errorf("groups %+v", f.Groups)
	}
	assertClean(t, c)
}

// TestRunNotRun checks the nodes that cannot run, each reported with its
// reason, while the others run, and that everything is removed.
func TestRunNotRun(t *testing.T) {
	s := &sim{logs: goodLogs(),
		waiting: map[string]corev1.ContainerStateWaiting{
			"win-a": {Reason: "ImagePullBackOff", Message: `Back-off pulling image "example.com/hnspath:v1"`},
			"win-b": {Reason: "CreateContainerError", Message: "failed to create containerd container: hostprocess containers are not supported"},
		},
		pending: map[string]bool{"win-c": true},
	}
	c := newSim(s)
	r := newRunner(c, s)
	r.StartTimeout = 20 * time.Millisecond // win-c never starts: any wait will do
	f, err := r.Run(context.Background())
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	for _, tt := range []struct{ node, reason, why string }{
		{"win-a", result.FleetReasonImagePull, "ImagePullBackOff"},
		{"win-b", result.FleetReasonNoHostProcess, "hostprocess containers are not supported"},
		{"win-c", result.FleetReasonTimeout, "Unschedulable: 0/4 nodes are available"},
	} {
		n := nodeByName(t, f, tt.node)
		if n.Status != result.FleetNotRun || n.Reason != tt.reason || !strings.Contains(n.Why, tt.why) {
			t.Errorf("%s: %s %q %q, want not run %q with %q", tt.node, n.Status, n.Reason, n.Why, tt.reason, tt.why)
		}
	}
	assertClean(t, c)
}

// TestRunCreateFails checks a pod the API server refuses (Pod Security
// admission) and a failed log read: reported per node, the rest runs, all
// is removed.
func TestRunCreateFails(t *testing.T) {
	logs := goodLogs()
	delete(logs, "win-c")
	s := &sim{logs: logs, createErr: map[string]error{"win-a": apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "x",
		errors.New(`violates PodSecurity "baseline:latest": host namespaces (hostNetwork=true), hostProcess`))}}
	c := newSim(s)
	r := newRunner(c, s)
	f, err := r.Run(context.Background())
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if n := nodeByName(t, f, "win-a"); n.Reason != result.FleetReasonNoHostProcess || !strings.Contains(n.Why, "PodSecurity") {
		t.Errorf("win-a: %q %q, want %q naming PodSecurity", n.Reason, n.Why, result.FleetReasonNoHostProcess)
	}
	if n := nodeByName(t, f, "win-b"); n.Status != result.FleetRan {
		t.Errorf("win-b: %s %s, want ran", n.Status, n.Why)
	}
	if n := nodeByName(t, f, "win-c"); n.Reason != result.FleetReasonError || !strings.Contains(n.Why, "no log") {
		t.Errorf("win-c: %q %q, want error reading the log", n.Reason, n.Why)
	}
	assertClean(t, c)
}

// TestRunInterrupt cancels the run while pods wait: Run returns the
// context's error, the unfinished nodes are marked interrupted, and what
// was created is removed all the same.
func TestRunInterrupt(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := &sim{logs: goodLogs(), pending: map[string]bool{"win-a": true, "win-b": true, "win-c": true}}
	s.onCreate = func(p *corev1.Pod) {
		if strings.HasSuffix(p.Name, "win-c") {
			cancel()
		}
	}
	c := newSim(s)
	r := newRunner(c, s)
	f, err := r.Run(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run: %v, want context.Canceled", err)
	}
	for _, n := range f.Nodes {
		if n.Reason != result.FleetReasonInterrupted {
			t.Errorf("%s: %q, want interrupted", n.Name, n.Reason)
		}
	}
	assertClean(t, c)
}

// TestRunParallel checks that --parallel 1 runs the nodes one after the
// other: no pod is created while another is unfinished.
func TestRunParallel(t *testing.T) {
	s := &sim{logs: goodLogs()}
	c := newSim(s)
	s.onCreate = func(p *corev1.Pod) {
		pods, _ := c.Tracker().List(schema.GroupVersionResource{Version: "v1", Resource: "pods"}, schema.GroupVersionKind{Version: "v1", Kind: "Pod"}, "hnspath")
		if n := len(pods.(*corev1.PodList).Items); n != 0 {
			t.Errorf("creating %s with %d pods still there, want 0", p.Name, n)
		}
	}
	r := newRunner(c, s)
	r.Parallel = 1
	f, err := r.Run(context.Background())
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if len(f.Nodes) != 3 {
		t.Errorf("%d nodes, want 3", len(f.Nodes))
	}
}

// TestFleetGolden is the report of three simulated nodes, one differing
// from the model (and the others), in every format.
func TestFleetGolden(t *testing.T) {
	s := &sim{logs: goodLogs()}
	c := newSim(s)
	f, err := newRunner(c, s).Run(context.Background())
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	for _, format := range reports.FleetFormats {
		var b bytes.Buffer
		if err := reports.WriteFleet(&b, format, f); err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		golden(t, "fleet."+format+".golden", b.Bytes())
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./fleet -run %s -update)", err, t.Name())
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file:\n%s", name, got)
	}
}

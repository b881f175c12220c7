//go:build fleet

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/hnspath/hnspath/fleet"
	"github.com/hnspath/hnspath/internal/input"
	"github.com/hnspath/hnspath/reports"
	"github.com/hnspath/hnspath/result"
	"github.com/hnspath/hnspath/scenarios"
	"github.com/hnspath/hnspath/scenarios/library"
)

func init() {
	register(&command{name: "fleet", summary: "run the probe on every Windows node of a Kubernetes cluster (HostProcess pods) and report them against the model",
		usage: "run|manifests|report|clean [flags]", run: runFleet})
}

var fleetSubcommands = []struct{ name, summary string }{
	{"run", "run the scenarios on each selected node and write one report"},
	{"manifests", "print the run's ConfigMap and pods as YAML, to apply with your own tools"},
	{"report", "make the report from pod logs collected with kubectl logs"},
	{"clean", "remove what fleet runs left in the cluster (by their labels)"},
}

func runFleet(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		w := stderr
		code := exitUsage
		if len(args) > 0 {
			w, code = stdout, exitOK
		}
		fmt.Fprintf(w, "Usage: hnspath fleet <subcommand> [flags]\n\n%s\n\nSubcommands:\n", commands["fleet"].summary)
		for _, s := range fleetSubcommands {
			fmt.Fprintf(w, "  %-10s %s\n", s.name, s.summary)
		}
		fmt.Fprintln(w, "\nRun 'hnspath fleet <subcommand> --help' for its flags. Details: docs/fleet.md.")
		return code
	}
	switch args[0] {
	case "run":
		return runFleetRun(args[1:], stdout, stderr)
	case "manifests":
		return runFleetManifests(args[1:], stdout, stderr)
	case "report":
		return runFleetReport(args[1:], stdout, stderr)
	case "clean":
		return runFleetClean(args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "hnspath fleet: unknown subcommand %q (want run, manifests, report or clean)\n", args[0])
	return exitUsage
}

// kubeFlags are the flags that find the cluster (client-go's loading rules:
// --kubeconfig, else $KUBECONFIG, else ~/.kube/config).
type kubeFlags struct {
	kubeconfig, context, namespace *string
}

func addKubeFlags(fs *pflag.FlagSet) *kubeFlags {
	return &kubeFlags{
		kubeconfig: fs.String("kubeconfig", "", "kubeconfig `file` (default: $KUBECONFIG, then ~/.kube/config)"),
		context:    fs.String("context", "", "kubeconfig `context` to use (default: the current one)"),
		namespace:  fs.StringP("namespace", "n", "", "`namespace` of the run's objects; it must allow privileged pods (default: the context's, else default)"),
	}
}

// client returns a clientset and the namespace to use.
func (k *kubeFlags) client() (kubernetes.Interface, string, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = *k.kubeconfig
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: *k.context})
	cfg, err := cc.ClientConfig()
	if err != nil {
		return nil, "", fmt.Errorf("kubeconfig: %w", err)
	}
	cfg.UserAgent = "hnspath-fleet"
	ns := *k.namespace
	if ns == "" {
		if ns, _, err = cc.Namespace(); err != nil {
			return nil, "", fmt.Errorf("kubeconfig: namespace: %w", err)
		}
	}
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, "", fmt.Errorf("kubeconfig: %w", err)
	}
	return c, ns, nil
}

// podFlags are the flags that shape the run's objects.
type podFlags struct {
	image, pull, binary, cpu, memory *string
	evidence                         *bool
	tolerations                      *[]string
	deadline                         *time.Duration
}

func addPodFlags(fs *pflag.FlagSet) *podFlags {
	return &podFlags{
		image:       fs.String("image", "", "container `image` holding hnspath.exe (required; see docs/fleet.md for one on the HostProcess base image)"),
		pull:        fs.String("pull-policy", "", "image pull `policy` Always, IfNotPresent or Never (default: the cluster's)"),
		binary:      fs.String("binary", fleet.DefaultBinary, "`path` of hnspath.exe in the image (relative: under the container's sandbox mount)"),
		evidence:    fs.Bool("evidence", false, "also collect each node's HNS objects, NetNat, VFP rules and a pktmon capture of the run (for hnspath import, compare and vfp check)"),
		tolerations: fs.StringArray("toleration", nil, "toleration `key[=value][:effect]` for the pods, repeatable, replacing the defaults os=windows:NoSchedule and node.kubernetes.io/os=windows:NoSchedule; * tolerates every taint"),
		cpu:         fs.String("cpu", "100m", "CPU `request` of each pod"),
		memory:      fs.String("memory", "256Mi", "memory `request` (and limit) of each pod"),
		deadline:    fs.Duration("deadline", 0, "activeDeadlineSeconds of each pod: the kubelet stops it after this `duration` (default: none, --timeout still applies in fleet run)"),
	}
}

func (p *podFlags) options(run, ns string, files map[string][]byte) (fleet.Options, error) {
	o := fleet.Options{Run: run, Namespace: ns, Image: *p.image, Binary: *p.binary, Files: files,
		Evidence: *p.evidence, CPU: *p.cpu, Memory: *p.memory, Deadline: *p.deadline}
	switch pp := corev1.PullPolicy(*p.pull); pp {
	case "", corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever:
		o.PullPolicy = pp
	default:
		return o, fmt.Errorf("--pull-policy: want Always, IfNotPresent or Never, got %q", *p.pull)
	}
	if *p.tolerations != nil {
		o.Tolerations = []corev1.Toleration{}
		for _, s := range *p.tolerations {
			t, err := fleet.ParseToleration(s)
			if err != nil {
				return o, fmt.Errorf("--toleration: %v", err)
			}
			o.Tolerations = append(o.Tolerations, t)
		}
	}
	if *p.image == "" {
		return o, errors.New("--image: required (the image holding hnspath.exe)")
	}
	return o, nil
}

func runFleetRun(args []string, stdout, stderr io.Writer) int {
	c := &command{name: "fleet run", summary: "run hnspath probe --backend windows in a HostProcess pod on each selected node, gather the results and write one report",
		usage: "--image IMAGE [flags] [scenario files or directories]"}
	fs := newFlags(c, stderr)
	kf := addKubeFlags(fs)
	selector := fs.StringP("selector", "l", fleet.DefaultSelector, "label `selector` of the nodes to run on")
	nodes := fs.StringArray("node", nil, "run only on the node `name` (repeatable; among the selected)")
	pf := addPodFlags(fs)
	parallel := fs.Int("parallel", 0, "run at most `n` pods at once (default: all)")
	startTimeout := fs.Duration("start-timeout", 5*time.Minute, "give up on a node whose pod has not started after this `duration` (image pull included)")
	timeout := fs.Duration("timeout", 30*time.Minute, "give up on a node whose pod has not finished after this `duration`")
	poll := fs.Duration("poll", 2*time.Second, "look at the run's pods (one list request) every `duration`")
	out := fs.StringP("out", "o", "", "write each node's files (probe results, evidence) under `dir`/NODE/ and the report as dir/fleet.json")
	format := fs.StringP("format", "f", "text", "report `format`: "+strings.Join(reports.FleetFormats, ", "))
	failDiff := fs.Bool("fail-on-difference", false, "exit 1 also when a node differs from the model (default: only when a node could not run)")
	if code := parseFlags(fs, args, stderr); code >= 0 {
		return code
	}
	if !validFleetFormat(*format) {
		return usageErr(stderr, fs, "--format: want one of %s, got %q", strings.Join(reports.FleetFormats, ", "), *format)
	}
	if *parallel < 0 {
		return usageErr(stderr, fs, "--parallel: want 0 or more, got %d", *parallel)
	}
	files, names, err := fleetFiles(fs.Args())
	if err != nil {
		return fail(stderr, "fleet run", err)
	}
	run := fleet.NewRunID(time.Now())
	o, err := pf.options(run, "", files)
	if err != nil {
		return usageErr(stderr, fs, "%v", err)
	}
	client, ns, err := kf.client()
	if err != nil {
		return fail(stderr, "fleet run", err)
	}
	o.Namespace = ns
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	r := &fleet.Runner{Client: client, Options: o, Selector: *selector, Nodes: *nodes, Scenarios: names,
		StartTimeout: *startTimeout, Timeout: *timeout, Poll: *poll, Parallel: *parallel, Out: *out, Progress: stderr}
	fmt.Fprintf(stderr, "hnspath fleet run: run %s in namespace %s (leftovers: hnspath fleet clean --run %s)\n", run, ns, run)
	f, runErr := r.Run(ctx)
	if f == nil {
		return fail(stderr, "fleet run", runErr)
	}
	return writeFleet(stdout, stderr, "fleet run", f, *format, *out, runErr, *failDiff)
}

func validFleetFormat(f string) bool {
	for _, v := range reports.FleetFormats {
		if f == v {
			return true
		}
	}
	return f == "md"
}

// writeFleet writes the report and returns the exit code: 1 when the run
// failed, a node could not run, or (failDiff) a node differs.
func writeFleet(stdout, stderr io.Writer, name string, f *result.Fleet, format, out string, runErr error, failDiff bool) int {
	code := exitOK
	if err := reports.WriteFleet(stdout, format, f); err != nil {
		fmt.Fprintf(stderr, "hnspath %s: %v\n", name, err)
		code = exitFail
	}
	if out != "" {
		if err := writeFile(filepath.Join(out, "fleet.json"), func(w io.Writer) error { return reports.WriteFleet(w, "json", f) }); err != nil {
			fmt.Fprintf(stderr, "hnspath %s: %v\n", name, err)
			code = exitFail
		}
	}
	if runErr != nil {
		fmt.Fprintf(stderr, "hnspath %s: %v\n", name, runErr)
		code = exitFail
	}
	for _, n := range f.Nodes {
		if n.Status != result.FleetRan || n.ProbeExit != 0 {
			code = exitFail
		}
		if failDiff {
			for _, r := range n.Results {
				if r.Undocumented > 0 {
					code = exitFail
				}
			}
		}
	}
	return code
}

func runFleetManifests(args []string, stdout, stderr io.Writer) int {
	c := &command{name: "fleet manifests", summary: "print the ConfigMap and one pod per node of a fleet run as YAML (kubectl apply -f -), without running anything",
		usage: "--image IMAGE (--node NAME ... | --kubeconfig FILE) [flags] [scenario files or directories]"}
	fs := newFlags(c, stderr)
	kf := addKubeFlags(fs)
	selector := fs.StringP("selector", "l", fleet.DefaultSelector, "label `selector` of the nodes, when they are listed from the cluster")
	nodes := fs.StringArray("node", nil, "a pod for the node `name` (repeatable; without it the selected nodes are listed from the cluster)")
	run := fs.String("run", "", "run `id` (the label and name prefix; default: a new one)")
	pf := addPodFlags(fs)
	if code := parseFlags(fs, args, stderr); code >= 0 {
		return code
	}
	files, _, err := fleetFiles(fs.Args())
	if err != nil {
		return fail(stderr, "fleet manifests", err)
	}
	id := *run
	if id == "" {
		id = fleet.NewRunID(time.Now())
	}
	ns := *kf.namespace
	if ns == "" && len(*nodes) > 0 {
		ns = "default"
	}
	o, err := pf.options(id, ns, files)
	if err != nil {
		return usageErr(stderr, fs, "%v", err)
	}
	names := *nodes
	if len(names) == 0 {
		client, cns, err := kf.client()
		if err != nil {
			return fail(stderr, "fleet manifests", fmt.Errorf("%w (or name the nodes with --node)", err))
		}
		o.Namespace = cns
		nl, err := client.CoreV1().Nodes().List(context.Background(), metav1.ListOptions{LabelSelector: *selector})
		if err != nil {
			return fail(stderr, "fleet manifests", fmt.Errorf("list nodes (%s): %w", *selector, err))
		}
		for _, n := range nl.Items {
			names = append(names, n.Name)
		}
		sort.Strings(names)
		if len(names) == 0 {
			return fail(stderr, "fleet manifests", fmt.Errorf("no nodes match %s", *selector))
		}
	}
	if err := o.WriteManifests(stdout, names); err != nil {
		return fail(stderr, "fleet manifests", err)
	}
	fmt.Fprintf(stderr, "hnspath fleet manifests: run %s; collect with: kubectl logs -n %s -l %s=%s --prefix --tail=-1 > logs.txt; hnspath fleet report logs.txt\n",
		id, o.Namespace, fleet.LabelRun, id)
	return exitOK
}

func runFleetReport(args []string, stdout, stderr io.Writer) int {
	c := &command{name: "fleet report", summary: "make a fleet report from the logs of fleet pods (kubectl logs POD, or kubectl logs -l ... --prefix for all)",
		usage: "[flags] log files"}
	fs := newFlags(c, stderr)
	out := fs.StringP("out", "o", "", "write each node's files under `dir`/NODE/ and the report as dir/fleet.json")
	format := fs.StringP("format", "f", "text", "report `format`: "+strings.Join(reports.FleetFormats, ", "))
	failDiff := fs.Bool("fail-on-difference", false, "exit 1 also when a node differs from the model")
	if code := parseFlags(fs, args, stderr); code >= 0 {
		return code
	}
	if !validFleetFormat(*format) {
		return usageErr(stderr, fs, "--format: want one of %s, got %q", strings.Join(reports.FleetFormats, ", "), *format)
	}
	if fs.NArg() == 0 {
		return usageErr(stderr, fs, "no log files")
	}
	logs := map[string][]byte{}
	for _, a := range fs.Args() {
		data, err := input.ReadFile(a, 0)
		if err != nil {
			return fail(stderr, "fleet report", err)
		}
		if split, ok := fleet.SplitPrefixed(data); ok {
			for pod, l := range split {
				logs[a+":"+pod] = l
			}
			continue
		}
		logs[a] = data
	}
	f, err := fleet.FromLogs(logs, *out)
	if len(f.Nodes) == 0 {
		return fail(stderr, "fleet report", err)
	}
	return writeFleet(stdout, stderr, "fleet report", f, *format, *out, err, *failDiff)
}

func runFleetClean(args []string, stdout, stderr io.Writer) int {
	c := &command{name: "fleet clean", summary: "remove the pods and ConfigMaps fleet runs left (labelled app.kubernetes.io/managed-by=hnspath-fleet)",
		usage: "[flags]"}
	fs := newFlags(c, stderr)
	kf := addKubeFlags(fs)
	run := fs.String("run", "", "remove only the objects of run `id` (default: of every run)")
	all := fs.BoolP("all-namespaces", "A", false, "look in every namespace")
	if code := parseFlags(fs, args, stderr); code >= 0 {
		return code
	}
	if fs.NArg() > 0 {
		return usageErr(stderr, fs, "unexpected arguments %q", fs.Args())
	}
	client, ns, err := kf.client()
	if err != nil {
		return fail(stderr, "fleet clean", err)
	}
	if *all {
		ns = metav1.NamespaceAll
	}
	removed, err := fleet.Clean(context.Background(), client, ns, *run)
	for _, r := range removed {
		fmt.Fprintf(stdout, "removed %s\n", r)
	}
	if len(removed) == 0 && err == nil {
		fmt.Fprintln(stdout, "nothing to remove")
	}
	if err != nil {
		return fail(stderr, "fleet clean", err)
	}
	return exitOK
}

// fleetFiles returns the files to ship for the scenarios named (the
// library without arguments): each scenario file and every file it reads
// (topologies, captures), by path relative to their common directory, and
// the scenarios' names. Every scenario is loaded here first, so that a bad
// file fails before anything is created in the cluster.
func fleetFiles(args []string) (map[string][]byte, []string, error) {
	if len(args) == 0 {
		rec := &recordFS{FS: library.FS(), read: map[string][]byte{}}
		scs, err := scenarios.LoadAllFS(rec, ".", library.Display)
		if err != nil {
			return nil, nil, err
		}
		return rec.read, scenarioNamesOf(scs), nil
	}
	root := &recordFS{FS: os.DirFS("/"), read: map[string][]byte{}}
	var scs []*scenarios.Scenario
	var errs []error
	for _, a := range args {
		abs, err := filepath.Abs(a)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if vol := filepath.VolumeName(abs); vol != "" {
			root.FS = os.DirFS(vol + `\`)
			abs = abs[len(vol):]
		}
		name := strings.TrimPrefix(filepath.ToSlash(abs), "/")
		st, err := os.Stat(a)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if st.IsDir() {
			got, err := scenarios.LoadAllFS(root, name, func(p string) string { return displayOf(a, name, p) })
			scs = append(scs, got...)
			errs = append(errs, err)
			continue
		}
		sc, err := scenarios.LoadFS(root, name, a)
		if sc != nil {
			scs = append(scs, sc)
		}
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, nil, err
	}
	if len(scs) == 0 {
		return nil, nil, errors.New("no scenarios found")
	}
	// Ship the files relative to their common directory.
	var names []string
	for n := range root.read {
		names = append(names, n)
	}
	sort.Strings(names)
	common := path.Dir(names[0])
	for _, n := range names[1:] {
		for common != "." && !strings.HasPrefix(n, common+"/") {
			common = path.Dir(common)
		}
	}
	files := map[string][]byte{}
	for _, n := range names {
		rel := n
		if common != "." {
			rel = strings.TrimPrefix(n, common+"/")
		}
		files[rel] = root.read[n]
	}
	return files, scenarioNamesOf(scs), nil
}

func displayOf(arg, name, p string) string {
	rel := strings.TrimPrefix(strings.TrimPrefix(p, name), "/")
	return filepath.Join(arg, filepath.FromSlash(rel))
}

func scenarioNamesOf(scs []*scenarios.Scenario) []string {
	var out []string
	for _, sc := range scs {
		out = append(out, sc.Name)
	}
	sort.Strings(out)
	return out
}

// recordFS keeps every file read through it (scenario files and the
// files they name), bounded like every file a user hands in.
type recordFS struct {
	fs.FS
	read map[string][]byte
}

func (r *recordFS) ReadFile(name string) ([]byte, error) {
	f, err := r.FS.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return nil, &fs.PathError{Op: "read", Path: name, Err: errors.New("is a directory")}
	}
	data, err := io.ReadAll(io.LimitReader(f, input.Limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > input.Limit {
		return nil, &input.TooLargeError{File: name, Limit: input.Limit}
	}
	r.read[name] = data
	return data, nil
}

func (r *recordFS) Open(name string) (fs.File, error) {
	f, err := r.FS.Open(name)
	if err != nil {
		return nil, err
	}
	if st, err := f.Stat(); err == nil && !st.IsDir() {
		data, err := r.ReadFile(name)
		f.Close()
		if err != nil {
			return nil, err
		}
		return &memFile{name: name, st: st, r: strings.NewReader(string(data))}, nil
	}
	return f, nil
}

// memFile is a file read whole by recordFS.
type memFile struct {
	name string
	st   fs.FileInfo
	r    *strings.Reader
}

func (m *memFile) Stat() (fs.FileInfo, error) { return m.st, nil }
func (m *memFile) Read(b []byte) (int, error) { return m.r.Read(b) }
func (m *memFile) Close() error               { return nil }

//go:build fleet

package fleet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/hnspath/hnspath/result"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Runner runs a fleet: one pod per selected node, all watched with one
// List of the run's pods per Poll (not one request per pod), so the load
// on the API server does not grow with the number of nodes.
type Runner struct {
	Client  kubernetes.Interface
	Options Options
	// Selector selects the nodes (DefaultSelector when ""); Nodes, when
	// set, keeps only the nodes named.
	Selector string
	Nodes    []string
	// Scenarios are the names of the scenarios shipped (the report's
	// columns, also where a node reports none).
	Scenarios []string
	// StartTimeout bounds the wait for a pod to start on its node (5m when
	// 0); Timeout its whole run (30m when 0).
	StartTimeout, Timeout time.Duration
	// Poll is the time between two looks at the pods (2s when 0).
	Poll time.Duration
	// Parallel is how many pods run at once (all when 0).
	Parallel int
	// Out is the directory each node's files are written to, as
	// Out/<node>/probe/... and Out/<node>/evidence/...; none when "".
	Out string
	// Logs reads a pod's log (the pod's log stream from the API server when
	// nil).
	Logs func(ctx context.Context, namespace, pod string) (io.ReadCloser, error)
	// Progress, when set, gets a line per node as it starts and ends.
	Progress io.Writer
}

// maxLog bounds what is read of one pod's log.
const maxLog = 512 << 20

type nodeRun struct {
	node    *corev1.Node
	pod     string
	created time.Time
	started time.Time // when the pod was first seen running
	waiting string    // the last reason the pod was not running
	done    bool
	res     result.FleetNode
}

// Run runs the fleet and returns its report. It removes what it created
// before it returns, also when ctx is cancelled (then it returns ctx's
// error with the report of what finished, the other nodes marked
// interrupted).
func (r *Runner) Run(ctx context.Context) (f *result.Fleet, err error) {
	o := &r.Options
	if err := o.Validate(); err != nil {
		return nil, err
	}
	sel := r.Selector
	if sel == "" {
		sel = DefaultSelector
	}
	nl, err := r.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return nil, fmt.Errorf("list nodes (%s): %w", sel, err)
	}
	nodes := r.pick(nl.Items)
	if len(nodes) == 0 {
		return nil, fmt.Errorf("no nodes match %s%s", sel, r.namesText())
	}
	f = &result.Fleet{Schema: result.FleetSchema, Run: o.Run, Image: o.Image}

	cm, err := r.Client.CoreV1().ConfigMaps(o.Namespace).Create(ctx, o.ConfigMap(), metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("create configmap %s/%s: %w", o.Namespace, o.ParentName(), err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if _, cerr := Clean(cctx, r.Client, o.Namespace, o.Run); cerr != nil {
			err = errors.Join(err, fmt.Errorf("clean up run %s (run hnspath fleet clean): %w", o.Run, cerr))
		}
	}()

	runs := make([]*nodeRun, len(nodes))
	for i := range nodes {
		n := &nodes[i]
		runs[i] = &nodeRun{node: n, pod: o.PodName(n.Name), res: result.FleetNode{Name: n.Name, OSImage: n.Status.NodeInfo.OSImage}}
	}
	err = r.loop(ctx, cm, runs)
	for _, nr := range runs {
		if !nr.done {
			nr.finish(result.FleetReasonInterrupted, "the run was stopped before the node finished")
		}
		if nr.res.OSBuild == "" {
			nr.res.OSBuild = nr.node.Status.NodeInfo.KernelVersion
		}
		f.Nodes = append(f.Nodes, nr.res)
	}
	f.Scenarios = scenarioNames(r.Scenarios, f.Nodes)
	f.Group()
	return f, err
}

// loop creates the pods (Parallel at a time) and watches them until all
// are done or ctx ends.
func (r *Runner) loop(ctx context.Context, cm *corev1.ConfigMap, runs []*nodeRun) error {
	o := &r.Options
	poll := r.Poll
	if poll <= 0 {
		poll = 2 * time.Second
	}
	startTimeout, timeout := r.StartTimeout, r.Timeout
	if startTimeout <= 0 {
		startTimeout = 5 * time.Minute
	}
	if timeout <= 0 {
		timeout = 30 * time.Minute
	}
	pods := r.Client.CoreV1().Pods(o.Namespace)
	next := 0
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		active := 0
		for _, nr := range runs[:next] {
			if !nr.done {
				active++
			}
		}
		for next < len(runs) && (r.Parallel <= 0 || active < r.Parallel) {
			nr := runs[next]
			next++
			if _, err := pods.Create(ctx, o.Pod(nr.node.Name, cm), metav1.CreateOptions{}); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				nr.finish(classifyCreate(err), fmt.Sprintf("create pod %s: %v", nr.pod, err))
				r.progress(nr)
				continue
			}
			nr.created = time.Now()
			active++
			r.progressf("%s: pod %s created\n", nr.node.Name, nr.pod)
		}
		if active == 0 && next == len(runs) {
			return nil
		}
		pl, err := pods.List(ctx, metav1.ListOptions{LabelSelector: o.RunSelector()})
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("list pods of run %s: %w", o.Run, err)
		}
		byName := map[string]*corev1.Pod{}
		for i := range pl.Items {
			byName[pl.Items[i].Name] = &pl.Items[i]
		}
		for _, nr := range runs[:next] {
			if nr.done {
				continue
			}
			r.check(ctx, nr, byName[nr.pod], startTimeout, timeout)
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if nr.done {
				r.progress(nr)
				// Its log is read: remove the pod at once (fewer objects for
				// the API server on a large run); Clean removes it at the end
				// in any case.
				_ = pods.Delete(ctx, nr.pod, metav1.DeleteOptions{})
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(poll):
		}
	}
}

// check looks at a node's pod and finishes the node's run when the pod has
// ended, cannot start or ran out of time.
func (r *Runner) check(ctx context.Context, nr *nodeRun, p *corev1.Pod, startTimeout, timeout time.Duration) {
	if p == nil {
		nr.finish(result.FleetReasonError, "pod "+nr.pod+" was deleted before it finished")
		return
	}
	var cs *corev1.ContainerStatus
	for i := range p.Status.ContainerStatuses {
		cs = &p.Status.ContainerStatuses[i]
	}
	if cs != nil && cs.State.Waiting != nil {
		w := cs.State.Waiting
		msg := strings.TrimSpace(w.Reason + ": " + w.Message)
		switch w.Reason {
		case "ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull", "RegistryUnavailable":
			nr.finish(result.FleetReasonImagePull, msg)
			return
		case "CreateContainerError", "RunContainerError", "CreateContainerConfigError", "StartError":
			nr.finish(startReason(msg), msg)
			return
		}
		nr.waiting = msg
	}
	switch p.Status.Phase {
	case corev1.PodSucceeded, corev1.PodFailed:
		msg := strings.TrimSpace(p.Status.Reason + ": " + p.Status.Message)
		if p.Status.Reason == "DeadlineExceeded" {
			nr.finish(result.FleetReasonTimeout, msg+" (activeDeadlineSeconds)")
			return
		}
		if cs == nil || cs.State.Terminated == nil {
			nr.finish(startReason(msg), msg)
			return
		}
		if t := cs.State.Terminated; t.Reason == "StartError" || t.Reason == "ContainerCannotRun" {
			msg := strings.TrimSpace(t.Reason + ": " + t.Message)
			nr.finish(startReason(msg), msg)
			return
		}
		r.gather(ctx, nr, cs.State.Terminated)
		return
	case corev1.PodRunning:
		if nr.started.IsZero() {
			nr.started = time.Now()
			r.progressf("%s: running\n", nr.node.Name)
		}
		if time.Since(nr.created) > timeout {
			nr.finish(result.FleetReasonTimeout, fmt.Sprintf("still running after %v (--timeout)", timeout))
		}
		return
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
			nr.waiting = strings.TrimSpace(c.Reason + ": " + c.Message)
		}
	}
	if time.Since(nr.created) > startTimeout {
		why := fmt.Sprintf("not started within %v (--start-timeout)", startTimeout)
		if nr.waiting != "" {
			why += "; last: " + nr.waiting
		}
		if !nodeReady(nr.node) {
			why += "; the node is not Ready"
		}
		nr.finish(result.FleetReasonTimeout, why)
	}
}

// startReason tells a node without HostProcess support (containerd before
// 1.6, Windows Server 2019 before its HostProcess update, the feature gate
// off) from other failures to start.
func startReason(msg string) string {
	if strings.Contains(strings.ToLower(msg), "hostprocess") || strings.Contains(strings.ToLower(msg), "host process") {
		return result.FleetReasonNoHostProcess
	}
	return result.FleetReasonRejected
}

// classifyCreate classifies a failed pod create: admission (Pod Security:
// HostProcess needs the privileged level) is a rejection.
func classifyCreate(err error) string {
	if apierrors.IsForbidden(err) || apierrors.IsInvalid(err) {
		if strings.Contains(strings.ToLower(err.Error()), "hostprocess") {
			return result.FleetReasonNoHostProcess
		}
		return result.FleetReasonRejected
	}
	return result.FleetReasonError
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// gather reads a finished pod's log and fills in the node's results.
func (r *Runner) gather(ctx context.Context, nr *nodeRun, t *corev1.ContainerStateTerminated) {
	logs := r.Logs
	if logs == nil {
		logs = func(ctx context.Context, ns, pod string) (io.ReadCloser, error) {
			return r.Client.CoreV1().Pods(ns).GetLogs(pod, &corev1.PodLogOptions{}).Stream(ctx)
		}
	}
	rc, err := logs(ctx, r.Options.Namespace, nr.pod)
	if err != nil {
		nr.finish(result.FleetReasonError, fmt.Sprintf("read the log of pod %s: %v", nr.pod, err))
		return
	}
	defer rc.Close()
	l, err := ParseLog(io.LimitReader(rc, maxLog), nr.pod, r.Options.Run)
	if err != nil {
		nr.finish(result.FleetReasonError, err.Error())
		return
	}
	if reason, why := fromLog(&nr.res, l, nr.pod, r.Out, fmt.Sprintf("container exit %d: %s", t.ExitCode, strings.TrimSpace(t.Reason+" "+t.Message))); reason != "" {
		nr.finish(reason, why)
		return
	}
	nr.done = true
}

// fromLog fills in a node's results from its pod's log, and writes the
// files it carried under out/<node>/ when out is not "". It returns why
// the node has no results ("" when it has them). exit says how the
// container ended, for a log that does not.
func fromLog(res *result.FleetNode, l *NodeLog, pod, out, exit string) (reason, why string) {
	res.OSBuild = l.Info["os-build"]
	res.HNSVersion = l.Info["hns-version"]
	switch {
	case !l.Started:
		return result.FleetReasonError, fmt.Sprintf("the script did not start (%s)", exit)
	case !l.Done:
		why := fmt.Sprintf("the log ends before the script did (%s); the kubelet may have rotated it (containerLogMaxSize)", exit)
		if len(l.Other) > 0 {
			why += "; last line: " + l.Other[len(l.Other)-1]
		}
		return result.FleetReasonError, why
	}
	if out != "" {
		for _, name := range l.Names {
			p := filepath.Join(out, nodeDir(res.Name), filepath.FromSlash(name))
			if err := writeFile(p, l.Files[name]); err != nil {
				return result.FleetReasonError, err.Error()
			}
			res.Files = append(res.Files, nodeDir(res.Name)+"/"+name)
		}
	}
	results, err := l.Results(pod)
	res.Results = results
	res.ProbeExit = l.Exit
	if err != nil {
		why := err.Error()
		if len(l.Fails) > 0 {
			why += "; on the node: " + strings.Join(l.Fails, "; ")
		}
		return result.FleetReasonError, why
	}
	res.Status = result.FleetRan
	if len(l.Fails) > 0 {
		res.Why = strings.Join(l.Fails, "; ")
	}
	return "", ""
}

func (nr *nodeRun) finish(reason, why string) {
	nr.done = true
	nr.res.Status, nr.res.Reason, nr.res.Why = result.FleetNotRun, reason, why
}

// nodeDir is a node's directory name under Out.
func nodeDir(node string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == ':' || r < 0x20 {
			return '_'
		}
		return r
	}, node)
}

func writeFile(name string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	return os.WriteFile(name, data, 0o644)
}

func (r *Runner) pick(all []corev1.Node) []corev1.Node {
	if len(r.Nodes) == 0 {
		sort.Slice(all, func(i, j int) bool { return all[i].Name < all[j].Name })
		return all
	}
	want := map[string]bool{}
	for _, n := range r.Nodes {
		want[n] = true
	}
	var out []corev1.Node
	for _, n := range all {
		if want[n.Name] {
			out = append(out, n)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (r *Runner) namesText() string {
	if len(r.Nodes) == 0 {
		return ""
	}
	return " named " + strings.Join(r.Nodes, ", ")
}

func (r *Runner) progress(nr *nodeRun) {
	if nr.res.Status == result.FleetRan {
		r.progressf("%s: done (probe exit %d)\n", nr.node.Name, nr.res.ProbeExit)
		return
	}
	r.progressf("%s: not run: %s: %s\n", nr.node.Name, nr.res.Reason, nr.res.Why)
}

func (r *Runner) progressf(format string, args ...any) {
	if r.Progress != nil {
		fmt.Fprintf(r.Progress, format, args...)
	}
}

// scenarioNames returns the matrix's scenarios: those given, then any
// other a node reported, sorted.
func scenarioNames(given []string, nodes []result.FleetNode) []string {
	seen := map[string]bool{}
	var out []string
	add := func(n string) {
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	for _, n := range given {
		add(n)
	}
	for _, n := range nodes {
		for _, r := range n.Results {
			add(r.Scenario)
		}
	}
	sort.Strings(out)
	return out
}

// Clean removes the fleet's objects in namespace (every namespace when
// ""): the ConfigMaps and pods labelled managed-by hnspath-fleet, of one
// run or (run "") of all. It returns what it removed as kind/namespace/name.
func Clean(ctx context.Context, c kubernetes.Interface, namespace, run string) ([]string, error) {
	sel := LabelManagedBy + "=" + ManagedBy
	if run != "" {
		sel += "," + LabelRun + "=" + run
	}
	var removed []string
	var errs []error
	bg := metav1.DeletePropagationBackground
	del := metav1.DeleteOptions{PropagationPolicy: &bg}
	pl, err := c.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		errs = append(errs, fmt.Errorf("list pods: %w", err))
	} else {
		for _, p := range pl.Items {
			if err := c.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, del); err != nil && !apierrors.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("delete pod %s/%s: %w", p.Namespace, p.Name, err))
				continue
			}
			removed = append(removed, "pod/"+p.Namespace+"/"+p.Name)
		}
	}
	cl, err := c.CoreV1().ConfigMaps(namespace).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		errs = append(errs, fmt.Errorf("list configmaps: %w", err))
	} else {
		for _, cm := range cl.Items {
			if err := c.CoreV1().ConfigMaps(cm.Namespace).Delete(ctx, cm.Name, del); err != nil && !apierrors.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("delete configmap %s/%s: %w", cm.Namespace, cm.Name, err))
				continue
			}
			removed = append(removed, "configmap/"+cm.Namespace+"/"+cm.Name)
		}
	}
	return removed, errors.Join(errs...)
}

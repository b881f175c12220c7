//go:build fleet

// Package fleet runs hnspath probe on the Windows nodes of a Kubernetes
// cluster, one HostProcess pod per node, gathers each node's results from
// the pod's log and reports the fleet against the model.
//
// It is the only package that imports client-go: the command that uses it
// (cmd/hnspath fleet) is the only one that pays for it.
package fleet

import (
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"
)

// Labels on everything a run creates: the first finds every fleet object
// (fleet clean), the second one run's.
const (
	LabelManagedBy = "app.kubernetes.io/managed-by"
	ManagedBy      = "hnspath-fleet"
	LabelRun       = "hnspath.io/fleet-run"
	LabelNode      = "hnspath.io/fleet-node"
)

// DefaultSelector selects the Windows nodes.
const DefaultSelector = "kubernetes.io/os=windows"

// DefaultBinary is where hnspath.exe sits in the image, relative to the
// container's sandbox mount (CONTAINER_SANDBOX_MOUNT_POINT).
const DefaultBinary = `hnspath.exe`

// MountPath is where the run's ConfigMap (scenarios and script) is mounted.
const MountPath = `C:\hnspath-fleet`

// maxConfigMap is the most a ConfigMap may hold (etcd's request limit,
// "ConfigMap ... cannot exceed 1 MiB", kubernetes.io/docs/concepts/configuration/configmap).
const maxConfigMap = 1 << 20

// Options describe a fleet run's objects.
type Options struct {
	// Run is the run's ID: a DNS label, unique per run (NewRunID).
	Run       string
	Namespace string
	Image     string
	// PullPolicy is the image pull policy ("" leaves the cluster's default).
	PullPolicy corev1.PullPolicy
	// Binary is hnspath.exe's path in the image (DefaultBinary when ""):
	// relative paths are under CONTAINER_SANDBOX_MOUNT_POINT.
	Binary string
	// Files are the scenario files shipped to the nodes with the files
	// they name (topologies, captures), by slash-separated relative path:
	// the probe on the node runs every scenario under their directory.
	Files map[string][]byte
	// Evidence asks each node for its HNS objects, VFP rules and a pktmon
	// capture of the probe run.
	Evidence bool
	// Tolerations are added to every pod (DefaultTolerations when nil).
	Tolerations []corev1.Toleration
	// CPU and Memory are the pod's requests (and memory its limit);
	// "100m" and "256Mi" when "".
	CPU, Memory string
	// Deadline bounds a pod's run on its node (activeDeadlineSeconds);
	// none when 0.
	Deadline time.Duration
}

// DefaultTolerations tolerate the taints Windows node pools usually carry
// (os=windows:NoSchedule, as Kubernetes' Windows scheduling guide and AKS
// suggest, and its node.kubernetes.io/os form).
func DefaultTolerations() []corev1.Toleration {
	return []corev1.Toleration{
		{Key: "os", Operator: corev1.TolerationOpEqual, Value: "windows", Effect: corev1.TaintEffectNoSchedule},
		{Key: "node.kubernetes.io/os", Operator: corev1.TolerationOpEqual, Value: "windows", Effect: corev1.TaintEffectNoSchedule},
	}
}

// ParseToleration parses key[=value][:effect] (kubectl taint's syntax);
// a key alone, or "*", tolerates every value (and every key).
func ParseToleration(s string) (corev1.Toleration, error) {
	var t corev1.Toleration
	kv, effect, hasEffect := strings.Cut(s, ":")
	if hasEffect {
		switch e := corev1.TaintEffect(effect); e {
		case corev1.TaintEffectNoSchedule, corev1.TaintEffectPreferNoSchedule, corev1.TaintEffectNoExecute:
			t.Effect = e
		default:
			return t, fmt.Errorf("toleration %q: effect %q: want NoSchedule, PreferNoSchedule or NoExecute", s, effect)
		}
	}
	key, value, hasValue := strings.Cut(kv, "=")
	if key == "*" {
		t.Operator = corev1.TolerationOpExists
		if hasValue {
			return t, fmt.Errorf("toleration %q: key * takes no value", s)
		}
		return t, nil
	}
	if errs := validation.IsQualifiedName(key); len(errs) > 0 {
		return t, fmt.Errorf("toleration %q: key: %s", s, strings.Join(errs, "; "))
	}
	t.Key = key
	if !hasValue {
		t.Operator = corev1.TolerationOpExists
		return t, nil
	}
	if errs := validation.IsValidLabelValue(value); len(errs) > 0 {
		return t, fmt.Errorf("toleration %q: value: %s", s, strings.Join(errs, "; "))
	}
	t.Operator, t.Value = corev1.TolerationOpEqual, value
	return t, nil
}

// NewRunID returns a run ID from a time: hnsf-<unix nanoseconds in base 36>,
// short enough for pod names with a node's name after it.
func NewRunID(now time.Time) string {
	return "hnsf-" + strconv.FormatInt(now.UnixNano(), 36)
}

// Validate checks the options before anything is created.
func (o *Options) Validate() error {
	var errs []error
	if errs2 := validation.IsDNS1123Label(o.Run); len(errs2) > 0 {
		errs = append(errs, fmt.Errorf("run ID %q: %s", o.Run, strings.Join(errs2, "; ")))
	}
	if o.Namespace == "" {
		errs = append(errs, errors.New("namespace: empty"))
	}
	if o.Image == "" {
		errs = append(errs, errors.New("image: empty (the image holding hnspath.exe)"))
	}
	if len(o.Files) == 0 {
		errs = append(errs, errors.New("scenarios: none"))
	}
	size := len(script)
	for name, data := range o.Files {
		if name == "" || path.IsAbs(name) || path.Clean(name) != name || strings.HasPrefix(name, "../") || name == ".." || strings.Contains(name, `\`) {
			errs = append(errs, fmt.Errorf("scenario file %q: not a clean relative path", name))
		}
		size += len(name) + len(data)
	}
	if size > maxConfigMap {
		errs = append(errs, fmt.Errorf("scenarios: %d bytes with the script, a ConfigMap holds at most %d: split the suite into several runs", size, maxConfigMap))
	}
	if _, err := resource.ParseQuantity(o.cpu()); err != nil {
		errs = append(errs, fmt.Errorf("cpu %q: %v", o.CPU, err))
	}
	if _, err := resource.ParseQuantity(o.memory()); err != nil {
		errs = append(errs, fmt.Errorf("memory %q: %v", o.Memory, err))
	}
	return errors.Join(errs...)
}

func (o *Options) cpu() string {
	if o.CPU == "" {
		return "100m"
	}
	return o.CPU
}

func (o *Options) memory() string {
	if o.Memory == "" {
		return "256Mi"
	}
	return o.Memory
}

// Labels returns the labels of the run's objects.
func (o *Options) Labels() map[string]string {
	return map[string]string{LabelManagedBy: ManagedBy, LabelRun: o.Run}
}

// RunSelector selects the run's objects.
func (o *Options) RunSelector() string {
	return LabelManagedBy + "=" + ManagedBy + "," + LabelRun + "=" + o.Run
}

// ParentName is the name of the run's ConfigMap, the owner of its pods.
func (o *Options) ParentName() string { return o.Run }

const scriptKey = "run.ps1"

// ConfigMap returns the run's ConfigMap: the scenario files and the script
// the pods run. It is the parent of the run's pods (their owner), so that
// deleting it lets the garbage collector remove them.
func (o *Options) ConfigMap() *corev1.ConfigMap {
	data := map[string]string{scriptKey: script}
	for i, name := range o.fileNames() {
		data[fileKey(i, name)] = string(o.Files[name])
	}
	return &corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{Name: o.ParentName(), Namespace: o.Namespace, Labels: o.Labels()},
		Data:       data,
	}
}

var notDNS = regexp.MustCompile(`[^a-z0-9-]+`)

// PodName returns the name of the pod for a node: <run>-<node>, with the
// node's name made a DNS label and cut to fit (253 is the limit for pod
// names; 63 keeps them readable and usable as hostnames).
func (o *Options) PodName(node string) string {
	n := strings.Trim(notDNS.ReplaceAllString(strings.ToLower(node), "-"), "-")
	name := o.Run + "-" + n
	if len(name) > 63 {
		name = strings.TrimRight(name[:63], "-")
	}
	return name
}

// nodeLabel returns the node's name as a label value, or "" when it is
// not one (the pod is still found by its nodeName).
func nodeLabel(node string) string {
	if len(validation.IsValidLabelValue(node)) > 0 {
		return ""
	}
	return node
}

// Pod returns the pod that runs the probe on node. The parent is the run's
// ConfigMap as created (its UID is the owner reference's); nil leaves the
// owner reference out (fleet manifests, where the UID is not known yet).
func (o *Options) Pod(node string, parent *corev1.ConfigMap) *corev1.Pod {
	labels := o.Labels()
	if l := nodeLabel(node); l != "" {
		labels[LabelNode] = l
	}
	yes := true
	user := `NT AUTHORITY\SYSTEM`
	var owners []metav1.OwnerReference
	if parent != nil {
		owners = []metav1.OwnerReference{{APIVersion: "v1", Kind: "ConfigMap", Name: parent.Name, UID: parent.UID}}
	}
	tol := o.Tolerations
	if tol == nil {
		tol = DefaultTolerations()
	}
	items := []corev1.KeyToPath{{Key: scriptKey, Path: scriptKey}}
	for i, name := range o.fileNames() {
		items = append(items, corev1.KeyToPath{Key: fileKey(i, name), Path: path.Join("scenarios", name)})
	}
	env := []corev1.EnvVar{
		{Name: "HNSPATH_FLEET_RUN", Value: o.Run},
		{Name: "HNSPATH_FLEET_BINARY", Value: o.binary()},
		{Name: "HNSPATH_FLEET_MOUNT", Value: MountPath},
		{Name: "HNSPATH_FLEET_NODE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.nodeName"}}},
	}
	if o.Evidence {
		env = append(env, corev1.EnvVar{Name: "HNSPATH_FLEET_EVIDENCE", Value: "1"})
	}
	var deadline *int64
	if o.Deadline > 0 {
		s := int64(o.Deadline / time.Second)
		if s < 1 {
			s = 1
		}
		deadline = &s
	}
	mem := resource.MustParse(o.memory())
	return &corev1.Pod{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: o.PodName(node), Namespace: o.Namespace, Labels: labels,
			Annotations:     map[string]string{"hnspath.io/fleet-node": node},
			OwnerReferences: owners},
		Spec: corev1.PodSpec{
			// Pinned the way DaemonSet pods are: the scheduler still checks
			// taints and resources, and reports why a pod cannot go there.
			Affinity: &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
				RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
					MatchFields: []corev1.NodeSelectorRequirement{{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{node}}},
				}}},
			}},
			NodeSelector:                  map[string]string{"kubernetes.io/os": "windows"},
			Tolerations:                   tol,
			HostNetwork:                   true,
			RestartPolicy:                 corev1.RestartPolicyNever,
			ActiveDeadlineSeconds:         deadline,
			TerminationGracePeriodSeconds: new(int64(30)),
			SecurityContext: &corev1.PodSecurityContext{WindowsOptions: &corev1.WindowsSecurityContextOptions{
				HostProcess: &yes, RunAsUserName: &user,
			}},
			Containers: []corev1.Container{{
				Name:            "probe",
				Image:           o.Image,
				ImagePullPolicy: o.PullPolicy,
				Command:         []string{"powershell.exe", "-NoLogo", "-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass", "-Command", bootstrap},
				Env:             env,
				Resources: corev1.ResourceRequirements{
					Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(o.cpu()), corev1.ResourceMemory: mem},
					Limits:   corev1.ResourceList{corev1.ResourceMemory: mem},
				},
				VolumeMounts: []corev1.VolumeMount{{Name: "fleet", MountPath: MountPath, ReadOnly: true}},
			}},
			Volumes: []corev1.Volume{{Name: "fleet", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
				LocalObjectReference: corev1.LocalObjectReference{Name: o.ParentName()}, Items: items,
			}}}},
		},
	}
}

// fileNames returns the names of Files, sorted.
func (o *Options) fileNames() []string {
	names := make([]string, 0, len(o.Files))
	for name := range o.Files {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

var notKey = regexp.MustCompile(`[^-._a-zA-Z0-9]+`)

// fileKey is the ConfigMap key of the i-th file (ConfigMap keys hold no
// "/"; the volume's items put each key back at its path).
func fileKey(i int, name string) string {
	k := fmt.Sprintf("%03d.%s", i, notKey.ReplaceAllString(strings.ReplaceAll(name, "/", "."), "_"))
	if len(k) > 200 {
		k = k[:200]
	}
	return k
}

func (o *Options) binary() string {
	if o.Binary == "" {
		return DefaultBinary
	}
	return o.Binary
}

// WriteManifests writes the run's objects for nodes as YAML documents
// (the ConfigMap, then a pod per node), for users who apply them with their
// own tools. The pods have no owner reference (the ConfigMap's UID is not
// known before it exists): their labels are what fleet clean and fleet
// report find them by.
func (o *Options) WriteManifests(w io.Writer, nodes []string) error {
	if err := o.Validate(); err != nil {
		return err
	}
	if len(nodes) == 0 {
		return errors.New("manifests: no nodes")
	}
	objs := []any{o.ConfigMap()}
	for _, n := range nodes {
		objs = append(objs, o.Pod(n, nil))
	}
	for i, obj := range objs {
		b, err := yaml.Marshal(obj)
		if err != nil {
			return fmt.Errorf("manifests: %w", err)
		}
		if i > 0 {
			if _, err := io.WriteString(w, "---\n"); err != nil {
				return err
			}
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}

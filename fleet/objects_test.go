//go:build fleet

package fleet

import (
	"bytes"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	kjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
	"k8s.io/client-go/kubernetes/scheme"
)

// strictDecoder decodes YAML into the Kubernetes API types the way the
// API server's strict field validation does: unknown and duplicate fields
// fail.
func strictDecoder() runtime.Decoder {
	return kjson.NewSerializerWithOptions(kjson.DefaultMetaFactory, scheme.Scheme, scheme.Scheme,
		kjson.SerializerOptions{Yaml: true, Strict: true})
}

func splitDocs(b []byte) [][]byte {
	var out [][]byte
	for _, d := range bytes.Split(b, []byte("\n---\n")) {
		if len(bytes.TrimSpace(d)) > 0 {
			out = append(out, d)
		}
	}
	return out
}

// TestManifestsDecodeStrictly decodes fleet manifests with the API types
// (strict), and checks the decoder does refuse an unknown field, so that
// the test can fail.
func TestManifestsDecodeStrictly(t *testing.T) {
	o := testOptions()
	o.Evidence = true
	var b bytes.Buffer
	if err := o.WriteManifests(&b, []string{"win-a", "akswin000001"}); err != nil {
		t.Fatal(err)
	}
	docs := splitDocs(b.Bytes())
	if len(docs) != 3 {
		t.Fatalf("%d documents, want 3 (a ConfigMap, two pods)", len(docs))
	}
	dec := strictDecoder()
	var kinds []string
	for i, d := range docs {
		obj, gvk, err := dec.Decode(d, nil, nil)
		if err != nil {
			t.Fatalf("document %d: %v", i+1, err)
		}
		kinds = append(kinds, gvk.Kind)
		switch o2 := obj.(type) {
		case *corev1.ConfigMap:
			if o2.Data[scriptKey] != script {
				t.Errorf("ConfigMap: run.ps1 is not the script")
			}
		case *corev1.Pod:
			if !*o2.Spec.SecurityContext.WindowsOptions.HostProcess || o2.Spec.Containers[0].Env[len(o2.Spec.Containers[0].Env)-1].Name != "HNSPATH_FLEET_EVIDENCE" {
				t.Errorf("pod %s: not HostProcess or no evidence switch", o2.Name)
			}
		}
	}
	if got := strings.Join(kinds, ","); got != "ConfigMap,Pod,Pod" {
		t.Errorf("kinds %s, want ConfigMap,Pod,Pod", got)
	}
	bad := bytes.Replace(docs[1], []byte("hostNetwork: true"), []byte("hostNetwork: true\n  hostNetworking: true"), 1)
	if _, _, err := dec.Decode(bad, nil, nil); err == nil || !strings.Contains(err.Error(), "hostNetworking") {
		t.Errorf("a pod with an unknown field decoded: %v, want an error naming it", err)
	}
}

func TestParseToleration(t *testing.T) {
	for _, tt := range []struct {
		in, want, err string
	}{
		{in: "os=windows:NoSchedule", want: "os Equal windows NoSchedule"},
		{in: "sku=Windows:NoExecute", want: "sku Equal Windows NoExecute"},
		{in: "dedicated", want: "dedicated Exists  "},
		{in: "dedicated:PreferNoSchedule", want: "dedicated Exists  PreferNoSchedule"},
		{in: "*", want: " Exists  "},
		{in: "os=windows:Sometimes", err: "effect"},
		{in: "*=x", err: "no value"},
		{in: "bad key=x", err: "key"},
		{in: "os=not valid", err: "value"},
	} {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseToleration(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("got %+v, %v; want an error about %s", got, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s := string(got.Key) + " " + string(got.Operator) + " " + got.Value + " " + string(got.Effect); s != tt.want {
				t.Errorf("got %q, want %q", s, tt.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	for _, tt := range []struct {
		name string
		mod  func(*Options)
		err  string
	}{
		{"ok", func(*Options) {}, ""},
		{"no image", func(o *Options) { o.Image = "" }, "image"},
		{"no files", func(o *Options) { o.Files = nil }, "scenarios: none"},
		{"escaping path", func(o *Options) { o.Files["../x.yaml"] = nil }, "not a clean relative path"},
		{"too big", func(o *Options) { o.Files["big.yaml"] = make([]byte, maxConfigMap) }, "ConfigMap holds at most"},
		{"bad cpu", func(o *Options) { o.CPU = "lots" }, "cpu"},
		{"bad run", func(o *Options) { o.Run = "Run_1" }, "run ID"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			o := testOptions()
			tt.mod(&o)
			err := o.Validate()
			if tt.err == "" && err != nil || tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) {
				t.Errorf("Validate: %v, want %q", err, tt.err)
			}
		})
	}
}

func TestPodName(t *testing.T) {
	o := testOptions()
	for _, tt := range []struct{ node, want string }{
		{"win-a", "hnsf-test-win-a"},
		{"Win_2.corp.example", "hnsf-test-win-2-corp-example"},
		{strings.Repeat("n", 80), "hnsf-test-" + strings.Repeat("n", 53)},
	} {
		if got := o.PodName(tt.node); got != tt.want {
			t.Errorf("PodName(%q) = %q, want %q", tt.node, got, tt.want)
		}
	}
}

package spec

import "testing"

var sinkSpec *Spec

func benchFrames(b *testing.B) map[string][]byte {
	frames := map[string][]byte{}
	for name, text := range map[string]string{
		"tcp-syn": synToWeb,
		"vxlan":   vxlanFrame,
	} {
		f, err := Build(MustParse(text), topo, BuildOptions{})
		if err != nil {
			b.Fatal(err)
		}
		frames[name] = f[0]
	}
	return frames
}

func BenchmarkBuild(b *testing.B) {
	s := MustParse(synToWeb)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Build(s, topo, BuildOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	for name, f := range benchFrames(b) {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(f)))
			for b.Loop() {
				sinkSpec = Decode(f, DecodeOptions{})
			}
		})
	}
}

func BenchmarkMatch(b *testing.B) {
	exp, err := MustParse("ipv4(dst=172.16.0.2, ttl=63) / tcp(sport=$p, dport=80, flags=S, chksum=valid)").Resolve(topo)
	if err != nil {
		b.Fatal(err)
	}
	f := benchFrames(b)["tcp-syn"]
	b.ReportAllocs()
	for b.Loop() {
		if ok, _ := Match(exp, f, nil, DecodeOptions{}); !ok {
			b.Fatal("no match")
		}
	}
}

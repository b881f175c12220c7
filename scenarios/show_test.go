package scenarios

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/hnspath/hnspath/emulator/fabric"
	"github.com/hnspath/hnspath/emulator/hns"
	"github.com/hnspath/hnspath/pcapio"
	"github.com/hnspath/hnspath/spec"
)

func show(t *testing.T, topo *Topology, format string) string {
	t.Helper()
	var b bytes.Buffer
	if _, err := Show(topo, &b, ShowOptions{Format: format}); err != nil {
		t.Fatalf("show %s: %v", format, err)
	}
	return b.String()
}

// TestShowRoundTrip prints every library topology in the Windows formats
// and imports the output again: the HNS objects, the NAT settings and the
// static mappings come back the same, and each format's output is the same
// when printed from the imported topology.
func TestShowRoundTrip(t *testing.T) {
	files, _ := filepath.Glob("library/topologies/*.yaml")
	if len(files) < 5 {
		t.Fatalf("topologies: %v", files)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			topo, err := LoadTopology(file)
			if err != nil {
				t.Fatal(err)
			}
			var dumps []Dump
			outs := map[string]string{}
			formats := []string{"hns-json", "hnsdiag"}
			_, buildErr := topo.Build(fabric.Options{})
			if buildErr == nil {
				// The WinNAT cmdlets show the built NAT; a topology that HNS
				// rejects has none.
				formats = append(formats, "get-netnat", "get-netnatstaticmapping")
			}
			for _, f := range formats {
				outs[f] = show(t, topo, f)
				dumps = append(dumps, Dump{Name: f + ".txt", Data: []byte(outs[f])})
			}
			h := topo.Hosts[0]
			back, notes, err := Import(dumps, ImportOptions{Host: h.Name, NICs: h.NICs})
			if err != nil {
				t.Fatalf("import of show's output: %v\nnotes: %q", err, notes)
			}
			want := h.HNS
			if err := want.Normalize(); err != nil {
				t.Fatal(err)
			}
			got := back.Hosts[0].HNS
			if g, w := len(got.Networks)+len(got.Endpoints)+len(got.LoadBalancers)+len(got.Routes), len(want.Networks)+len(want.Endpoints)+len(want.LoadBalancers)+len(want.Routes); g != w {
				t.Fatalf("imported %d objects, want %d", g, w)
			}
			pairs := map[string][2]any{}
			for i := range want.Networks {
				pairs["network "+want.Networks[i].Id] = [2]any{want.Networks[i], nil}
			}
			for i := range got.Networks {
				p := pairs["network "+got.Networks[i].Id]
				pairs["network "+got.Networks[i].Id] = [2]any{p[0], got.Networks[i]}
			}
			for i := range want.Endpoints {
				pairs["endpoint "+want.Endpoints[i].Id] = [2]any{want.Endpoints[i], nil}
			}
			for i := range got.Endpoints {
				p := pairs["endpoint "+got.Endpoints[i].Id]
				pairs["endpoint "+got.Endpoints[i].Id] = [2]any{p[0], got.Endpoints[i]}
			}
			for i := range want.LoadBalancers {
				pairs["lb "+want.LoadBalancers[i].Id] = [2]any{want.LoadBalancers[i], nil}
			}
			for i := range got.LoadBalancers {
				p := pairs["lb "+got.LoadBalancers[i].Id]
				pairs["lb "+got.LoadBalancers[i].Id] = [2]any{p[0], got.LoadBalancers[i]}
			}
			for k, p := range pairs {
				if hns.CanonicalJSON(p[0]) != hns.CanonicalJSON(p[1]) {
					t.Errorf("%s:\n got %s\nwant %s", k, hns.CanonicalJSON(p[1]), hns.CanonicalJSON(p[0]))
				}
			}
			// The same topology prints the same.
			bt := &Topology{Topology: *back}
			for f, want := range outs {
				if got := show(t, bt, f); got != want {
					t.Errorf("%s differs after the round trip:\n--- got\n%s\n--- want\n%s", f, got, want)
				}
			}
			if buildErr == nil {
				if _, err := bt.Build(fabric.Options{}); err != nil {
					t.Errorf("the original builds, the imported one does not: %v", err)
				}
			}
		})
	}
}

// TestShowFormatsGolden keeps what each format prints for the nat topology
// (with a NAT set with Set-NetNat's names) under review.
func TestShowFormatsGolden(t *testing.T) {
	topo, err := LoadTopology("library/topologies/nat.yaml")
	if err != nil {
		t.Fatal(err)
	}
	topo.Hosts[0].NAT = &fabric.NATSpec{TcpEstablishedConnectionTimeout: 600, UdpFilteringBehavior: "EndpointIndependentFiltering", UdpInboundRefresh: true}
	for _, f := range ShowFormats[:4] {
		checkGolden(t, "show-nat."+f, show(t, topo, f))
	}
	// Get-NetNat's values are the NAT's own: an independent reading of the
	// settings given above and of WinNAT's defaults.
	out := show(t, topo, "get-netnat")
	for _, want := range []string{
		"InternalIPInterfaceAddressPrefix : 172.16.0.1/16", "IcmpQueryTimeout                 : 30",
		"TcpEstablishedConnectionTimeout  : 600", "UdpFilteringBehavior             : EndpointIndependentFiltering",
		"TcpFilteringBehavior             : AddressDependentFiltering", "UdpInboundRefresh                : True",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("get-netnat lacks %q:\n%s", want, out)
		}
	}
}

// TestShowNetNatSession runs UDP flows from a container through WinNAT and
// checks Get-NetNatSession against the translated packets as gopacket
// decodes them where they leave the host.
func TestShowNetNatSession(t *testing.T) {
	topo, err := LoadTopology("library/topologies/nat.yaml")
	if err != nil {
		t.Fatal(err)
	}
	f, err := topo.Build(fabric.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := &runner{f: f, arps: map[arpKey]net.HardwareAddr{}}
	r.res = newResolver(f, topo, r.arp)
	web, _ := f.PortByName("host1/web")
	gw, ok := r.arp(web, f.Port(web).Gateway)
	if !ok {
		t.Fatal("no ARP reply from the gateway")
	}
	frames, err := spec.Build(spec.MustParse("ipv4(dst=198.18.0.10) / udp(sport=40000-40002, dport=53) / raw(len=18)"),
		r.res.from(web), spec.BuildOptions{From: "host1/web", DstMAC: gw})
	if err != nil {
		t.Fatal(err)
	}
	// The oracle: where each flow leaves, decoded by gopacket.
	want := map[uint16]string{}
	var out fabric.Outcome
	for i, fr := range frames {
		f.Inject(web, fr, int64(i)*int64(time.Millisecond), &out)
		for _, o := range out.Outputs {
			if o.Kind != fabric.Delivered {
				continue
			}
			p := gopacket.NewPacket(o.Frame, layers.LayerTypeEthernet, gopacket.Default)
			ip, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
			udp, _ := p.Layer(layers.LayerTypeUDP).(*layers.UDP)
			if ip != nil && udp != nil {
				want[uint16(40000+i)] = fmt.Sprintf("%s:%d", ip.SrcIP, udp.SrcPort)
			}
		}
	}
	if len(want) != 3 {
		t.Fatalf("flows delivered: %v", want)
	}
	in := filepath.Join(t.TempDir(), "in.pcapng")
	fh, err := os.Create(in)
	if err != nil {
		t.Fatal(err)
	}
	w, _ := pcapio.NewNgWriter(fh, pcapio.NgOptions{})
	start := time.Date(2026, 3, 3, 14, 5, 9, 0, time.UTC)
	for i, fr := range frames {
		if err := w.Write(pcapio.Packet{Port: "host1/web", Time: start.Add(time.Duration(i) * time.Millisecond), Data: fr}); err != nil {
			t.Fatal(err)
		}
	}
	w.Flush()
	fh.Close()
	rd, err := pcapio.Open(in, "")
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	var b bytes.Buffer
	if _, err := Show(topo, &b, ShowOptions{Format: "get-netnatsession", Capture: rd}); err != nil {
		t.Fatal(err)
	}
	recs := strings.Split(strings.TrimSpace(b.String()), "\n\n")
	if len(recs) != 3 {
		t.Fatalf("%d sessions, want 3:\n%s", len(recs), b.String())
	}
	for _, rec := range recs {
		fields := map[string]string{}
		for _, l := range strings.Split(rec, "\n") {
			k, v, _ := strings.Cut(l, " : ")
			fields[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
		var sport uint16
		fmt.Sscan(fields["InternalSourcePort"], &sport)
		if got := fields["ExternalSourceAddress"] + ":" + fields["ExternalSourcePort"]; got != want[sport] {
			t.Errorf("session from port %d: external %s, the packet left as %s", sport, got, want[sport])
		}
		if fields["Protocol"] != "17" || fields["InternalSourceAddress"] != "172.16.0.2" || fields["InternalDestinationAddress"] != "198.18.0.10" ||
			fields["ExternalDestinationPort"] != "53" || fields["CreationTime"] != "3/3/2026 2:05:09 PM" || !strings.HasPrefix(fields["NatName"], "NAT") {
			t.Errorf("session %v", fields)
		}
	}
}

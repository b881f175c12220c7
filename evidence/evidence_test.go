package evidence

import (
	"encoding/binary"
	"strings"
	"testing"

	"github.com/hnspath/hnspath/emulator/drop"
	cmp "github.com/hnspath/hnspath/evidence/comparison"
	"github.com/hnspath/hnspath/pktmon"
	"github.com/hnspath/hnspath/result"
)

// TestReasonMapping checks the mapping both ways against pktmon's own
// table (pktmon.DropText, PktMon_DropReason from Microsoft's parser):
// every emulator reason in pktmon's vocabulary has pktmon's number and
// wording, and every pktmon number the emulator knows maps back to it.
func TestReasonMapping(t *testing.T) {
	n := 0
	for _, r := range drop.All() {
		code := PktmonCode(r)
		if r.Layer() != drop.LayerPktmon {
			if code != -1 {
				t.Errorf("%s (%s): pktmon code %d, want none", r, r.Layer(), code)
			}
			if got, ok := ModelReason(-1, r.Text()); !ok || got != r {
				t.Errorf("%s: by its text %q got %v", r, r.Text(), got)
			}
			continue
		}
		n++
		if pktmon.DropText(code) != r.Text() {
			t.Errorf("%s: pktmon %d is %q, the emulator says %q", r, code, pktmon.DropText(code), r.Text())
		}
		if got, ok := ModelReason(code, ""); !ok || got != r {
			t.Errorf("pktmon %d: got %v, want %v", code, got, r)
		}
		if got, ok := ModelReason(-1, strings.ToUpper(pktmon.DropText(code))); !ok || got != r {
			t.Errorf("pktmon text %q: got %v, want %v", pktmon.DropText(code), got, r)
		}
	}
	if n < 10 {
		t.Fatalf("%d emulator reasons in pktmon's vocabulary, want the table", n)
	}
	for code := 0; code < 300; code++ {
		if r, ok := ModelReason(code, ""); ok && PktmonCode(r) != code {
			t.Errorf("pktmon %d -> %v -> %d", code, r, PktmonCode(r))
		}
	}
	if _, ok := ModelReason(-1, "no such reason"); ok {
		t.Error("unknown text mapped")
	}
}

// frame builds an Ethernet/IPv4/UDP frame (UDP checksum none).
func frame(dstMAC byte, src, dst [4]byte, sport, dport uint16, ttl byte) []byte {
	b := make([]byte, 42)
	copy(b, []byte{0, 0x15, 0x5d, 0, 0, dstMAC, 0, 0x15, 0x5d, 0, 0, 0x99, 8, 0})
	ip := b[14:]
	ip[0], ip[8], ip[9] = 0x45, ttl, 17
	binary.BigEndian.PutUint16(ip[2:], 28)
	copy(ip[12:], src[:])
	copy(ip[16:], dst[:])
	binary.BigEndian.PutUint16(ip[20:], sport)
	binary.BigEndian.PutUint16(ip[22:], dport)
	binary.BigEndian.PutUint16(ip[24:], 8)
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(ip[i:]))
	}
	sum = sum&0xffff + sum>>16
	sum = sum&0xffff + sum>>16
	binary.BigEndian.PutUint16(ip[10:], ^uint16(sum))
	return b
}

var (
	client = [4]byte{10, 0, 0, 99}
	hostIP = [4]byte{10, 0, 0, 4}
	webIP  = [4]byte{172, 16, 0, 2}
	inF    = frame(4, client, hostIP, 40000, 8082, 64)
	webF   = frame(2, client, webIP, 40000, 80, 63)
)

func app(comp int, dir string, f []byte, dropReason string) pktmon.Appearance {
	m := pktmon.Meta{PktGroupID: 1, Component: comp, Direction: dir, Edge: 1, DropCode: -1}
	if dropReason != "" {
		m.Drop, m.DropReason, m.DropCode = true, dropReason, pktmon.DropCode(dropReason)
	}
	return pktmon.Appearance{Source: "cap", Line: 1, Meta: m, HasMeta: true, Grouped: true, Frame: f, Known: pktmon.FieldAll, Dropped: m.Drop}
}

// TestCompare covers each way the model and a real host can part, and
// their agreeing, on hand-made appearances and results.
func TestCompare(t *testing.T) {
	delivered := &result.Packet{Index: 1, In: "host1/eth0", Outcome: result.OutcomeDelivered, Outputs: []result.Output{{Port: "host1/web", Kind: result.KindDelivered, Frame: webF}}}
	droppedAs := func(slug string) *result.Packet {
		r, _ := drop.Parse(slug)
		d := result.Drop{Port: "host1/eth0", Host: "host1", Component: "vswitch", Reason: slug, Text: r.Text(), Layer: r.Layer().String()}
		return &result.Packet{Index: 1, In: "host1/eth0", Outcome: result.OutcomeDropped, Drops: []result.Drop{d}}
	}
	for _, tt := range []struct {
		name   string
		apps   []pktmon.Appearance
		res    *result.Packet
		kinds  []string
		detail string
	}{
		{"agree", []pktmon.Appearance{app(1, "Rx", inF, ""), app(2, "Tx", webF, "")}, delivered, nil, ""},
		{"rewrite", []pktmon.Appearance{app(1, "Rx", inF, ""), app(2, "Tx", frame(2, client, webIP, 40000, 81, 62), "")}, delivered,
			[]string{cmp.Rewrite}, "dport"},
		{"dropped there", []pktmon.Appearance{app(1, "Rx", inF, ""), app(7, "Rx", inF, "Virtual Subnet ID does not match")}, delivered,
			[]string{cmp.DroppedThereDeliveredHere}, `DropReason 20 "Virtual Subnet ID does not match" = vsid-mismatch`},
		{"dropped here", []pktmon.Appearance{app(1, "Rx", inF, ""), app(2, "Tx", webF, "")}, droppedAs("vsid-mismatch"),
			[]string{cmp.DeliveredThereDroppedHere}, "DropReason 20"},
		{"same reason", []pktmon.Appearance{app(1, "Rx", inF, ""), app(7, "Rx", inF, "20")}, droppedAs("vsid-mismatch"), nil, ""},
		{"other reason", []pktmon.Appearance{app(1, "Rx", inF, ""), app(7, "Rx", inF, "MTU mismatch")}, droppedAs("vsid-mismatch"),
			[]string{cmp.DropReason}, "mtu-mismatch"},
		{"reason without counterpart", []pktmon.Appearance{app(1, "Rx", inF, ""), app(7, "Rx", inF, "INET: something new")}, droppedAs("winnat-no-mapping"), nil, ""},
		{"path", []pktmon.Appearance{app(1, "Rx", inF, ""), app(3, "Tx", webF, "")}, delivered, []string{cmp.Path, cmp.Path}, "never reached host1/web2"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := &pktmon.Capture{Appearances: tt.apps, Components: map[int]*pktmon.Component{
				1: {ID: 1, Name: "nic", Properties: map[string]string{"PhysAddress": "0x00155D000004"}},
				2: {ID: 2, Name: "web", Properties: map[string]string{"PhysAddress": "0x00155DAA0002"}},
				3: {ID: 3, Name: "web2", Properties: map[string]string{"PhysAddress": "0x00155DAA0003"}},
				7: {ID: 7, Name: "vmswitch.sys", Properties: map[string]string{}},
			}}
			// Component 2 must count as captured for the path case.
			c.Appearances = append(c.Appearances, pktmon.Appearance{Meta: pktmon.Meta{PktGroupID: 99, Component: 2}, HasMeta: true, Grouped: true, Frame: inF})
			ports := []pktmon.Port{{Name: "host1/eth0", MAC: "00:15:5d:00:00:04"}, {Name: "host1/web", MAC: "00:15:5d:aa:00:02"}, {Name: "host1/web2", MAC: "00:15:5d:aa:00:03"}}
			pm, err := pktmon.NewPortMap(c, ports, nil)
			if err != nil {
				t.Fatal(err)
			}
			g := c.Groups()[0]
			rep := Compare(Input{Capture: c, Map: pm, Ports: []string{"host1/eth0", "host1/web", "host1/web2"}, Injected: []*pktmon.Group{g}, In: []string{"host1/eth0"}, Results: []*result.Packet{tt.res}})
			gr := rep.Results[0]
			var kinds []string
			for _, p := range gr.Partings {
				kinds = append(kinds, p.Kind)
			}
			if strings.Join(kinds, ",") != strings.Join(tt.kinds, ",") {
				t.Fatalf("partings %v, want %v\n%s", kinds, tt.kinds, cmp.GroupText(gr))
			}
			if (len(tt.kinds) > 0) != rep.Failed() || (gr.Verdict == cmp.Part) != (len(tt.kinds) > 0) {
				t.Errorf("verdict %s, failed %v", gr.Verdict, rep.Failed())
			}
			if text := cmp.GroupText(gr); !strings.Contains(text, tt.detail) {
				t.Errorf("report lacks %q:\n%s", tt.detail, text)
			}
		})
	}
}

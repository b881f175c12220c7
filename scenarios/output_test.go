package scenarios

import (
	"bytes"
	"io"
	"os"
	"reflect"
	"strconv"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/hnspath/hnspath/pcapio"
	"github.com/hnspath/hnspath/result"
)

// TestResultsRoundTrip runs a scenario with outputs and reads them back:
// the JSON Lines file holds exactly the results the run produced, and the
// pcapng holds every input, output and drop on the interface of its port,
// drops with their comment and the drop verdict. gopacket decodes every
// frame of the pcapng (an independent decoder).
func TestResultsRoundTrip(t *testing.T) {
	sc, err := Parse("rt.yaml", []byte(expectBase))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var live []*result.Packet
	rep := Run(sc, Options{OutDir: dir, Results: func(p *result.Packet) { live = append(live, p) }})
	if rep.Err != nil || !rep.Passed {
		t.Fatalf("run: %v %v", rep.Err, rep.Failures)
	}
	if rep.Packets != 4 || len(live) != 4 {
		t.Fatalf("packets %d, results %d, want 4", rep.Packets, len(live))
	}
	f, err := os.Open(rep.ResultsFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	read, err := result.ReadAll(f, rep.ResultsFile)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(read, live) {
		t.Fatalf("results file differs from the run's results:\n got %+v\nwant %+v", read, live)
	}
	// What the pcapng must hold, in order.
	type rec struct {
		port, comment string
		frame         []byte
		verdict       bool
	}
	var want []rec
	for _, p := range live {
		want = append(want, rec{p.In, "packet " + strconv.Itoa(p.Index) + ": in", p.Frame, false})
		for _, o := range p.Outputs {
			want = append(want, rec{o.Port, "packet " + strconv.Itoa(p.Index) + ": " + o.Kind, o.Frame, false})
		}
		for i := range p.Drops {
			d := &p.Drops[i]
			want = append(want, rec{d.Port, DropComment(d) + "; packet " + strconv.Itoa(p.Index), d.Frame, true})
		}
	}
	if live[2].Outcome != result.OutcomeDropped || len(live[2].Drops) != 1 {
		t.Fatalf("packet 3: outcome %s drops %v, want one drop", live[2].Outcome, live[2].Drops)
	}
	if c := DropComment(&live[2].Drops[0]); c != "drop: winnat-no-mapping (no mapping) at host1/tcpip/eth0" {
		t.Errorf("drop comment %q", c)
	}
	rd, err := pcapio.Open(rep.PcapngFile, "")
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	var got []rec
	for {
		p, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, rec{p.Port, p.Comment, bytes.Clone(p.Data), p.Verdict != nil && p.Verdict.Type == pcapio.DropVerdict.Type && p.Verdict.Value == pcapio.DropVerdict.Value})
		// gopacket decodes the headers (payloads to port 53 are not DNS,
		// so application-layer errors are expected and ignored).
		pkt := gopacket.NewPacket(p.Data, layers.LayerTypeEthernet, gopacket.Default)
		if pkt.Layer(layers.LayerTypeIPv4) == nil || pkt.TransportLayer() == nil {
			t.Errorf("pcapng packet %d: gopacket finds no IPv4 and transport headers: %v", p.Index, pkt)
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("pcapng records:\n got %+v\nwant %+v", got, want)
	}
}

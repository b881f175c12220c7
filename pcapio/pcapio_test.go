package pcapio

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/pcapgo"
)

// frame returns a distinct test frame of n bytes.
func frame(i, n int) []byte {
	b := make([]byte, n)
	copy(b, []byte{0x02, 0, 0, 0, 0, byte(i), 0x02, 0, 0, 0, 0, 0x99, 0x08, 0x00})
	for j := 14; j < n; j++ {
		b[j] = byte(i + j)
	}
	return b
}

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 123456789, time.UTC)

// samplePackets are packets on three ports, with comments and verdicts.
func samplePackets() []Packet {
	return []Packet{
		{Port: "client", Time: t0, Data: frame(1, 60)},
		{Port: "host1/web", Time: t0.Add(1500 * time.Microsecond), Data: frame(2, 61), Comment: "translated"},
		{Port: "host1/eth0", Time: t0.Add(2 * time.Millisecond), Data: frame(3, 62),
			Comment: "drop: winnat-no-mapping", Verdict: &DropVerdict},
		{Port: "client", Time: t0.Add(3 * time.Millisecond), Data: frame(4, 1514), OrigLen: 9000},
		{Port: "host1/web", Time: t0.Add(4 * time.Millisecond), Data: frame(5, 63),
			Verdict: &Verdict{Type: VerdictHardware, Data: []byte{0xde, 0xad}}},
		{Port: "host1/web", Time: t0.Add(5 * time.Millisecond), Data: frame(6, 64),
			Comment: "line one\nline two", Verdict: &Verdict{Type: VerdictLinuxXDP, Value: XDPDrop}},
	}
}

func writeNg(t testing.TB, ps []Packet) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewNgWriter(&buf, NgOptions{Application: "hnspath test", Comment: "section",
		Descriptions: map[string]string{"client": "outside client"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if err := w.Write(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func readAll(t testing.TB, b []byte, port string) []Packet {
	t.Helper()
	r, err := NewReader(bytes.NewReader(b), "test", port)
	if err != nil {
		t.Fatal(err)
	}
	var out []Packet
	for {
		p, err := r.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		p.Data = bytes.Clone(p.Data)
		if p.Verdict != nil {
			v := *p.Verdict
			v.Data = bytes.Clone(v.Data)
			p.Verdict = &v
		}
		out = append(out, p)
	}
}

func TestNgRoundTrip(t *testing.T) {
	in := samplePackets()
	got := readAll(t, writeNg(t, in), "")
	if len(got) != len(in) {
		t.Fatalf("read %d packets, want %d", len(got), len(in))
	}
	for i := range in {
		want := in[i]
		want.Index = i + 1
		if !reflect.DeepEqual(got[i], want) {
			t.Errorf("packet %d:\n got  %+v\n want %+v", i+1, got[i], want)
		}
	}
}

// TestNgWithPcapgo reads our pcapng with gopacket's pcapgo.NgReader.
func TestNgWithPcapgo(t *testing.T) {
	in := samplePackets()
	r, err := pcapgo.NewNgReader(bytes.NewReader(writeNg(t, in)), pcapgo.DefaultNgReaderOptions)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range in {
		data, ci, opts, err := r.ReadPacketDataWithOptions()
		if err != nil {
			t.Fatalf("packet %d: %v", i+1, err)
		}
		ifc, err := r.Interface(ci.InterfaceIndex)
		if err != nil {
			t.Fatal(err)
		}
		if ifc.Name != want.Port {
			t.Errorf("packet %d: interface name %q, want %q", i+1, ifc.Name, want.Port)
		}
		if !bytes.Equal(data, want.Data) || !ci.Timestamp.Equal(want.Time) {
			t.Errorf("packet %d: data %d bytes at %v, want %d at %v", i+1, len(data), ci.Timestamp, len(want.Data), want.Time)
		}
		if wl := max(want.OrigLen, len(want.Data)); ci.Length != wl {
			t.Errorf("packet %d: original length %d, want %d", i+1, ci.Length, wl)
		}
		if c := strings.Join(opts.Comments, "\n"); c != want.Comment {
			t.Errorf("packet %d: comment %q, want %q", i+1, c, want.Comment)
		}
		switch v := want.Verdict; {
		case v == nil && len(opts.Verdicts) != 0:
			t.Errorf("packet %d: verdicts %v, want none", i+1, opts.Verdicts)
		case v != nil:
			wantData := v.Data
			if v.Type != VerdictHardware {
				wantData = binary.LittleEndian.AppendUint64(nil, v.Value)
			}
			if len(opts.Verdicts) != 1 || uint8(opts.Verdicts[0].Type) != uint8(v.Type) || !bytes.Equal(opts.Verdicts[0].Data, wantData) {
				t.Errorf("packet %d: verdicts %+v, want type %d data %x", i+1, opts.Verdicts, v.Type, wantData)
			}
		}
	}
	if ifc, _ := r.Interface(0); ifc.Description != "outside client" {
		t.Errorf("interface 0 description %q, want %q", ifc.Description, "outside client")
	}
	if si := r.SectionInfo(); si.Application != "hnspath test" || si.Comment != "section" {
		t.Errorf("section info %+v, want application %q comment %q", si, "hnspath test", "section")
	}
	if _, _, err := r.ReadPacketData(); err != io.EOF {
		t.Errorf("after the last packet: %v, want EOF", err)
	}
}

func TestPcapRoundTrip(t *testing.T) {
	in := samplePackets()
	var buf bytes.Buffer
	w, err := NewPcapWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range in {
		if err := w.Write(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	got := readAll(t, buf.Bytes(), "client")
	// gopacket's pcapgo.Reader as the independent reader.
	pr, err := pcapgo.NewReader(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if pr.LinkType() != 1 {
		t.Errorf("pcapgo link type %v, want Ethernet", pr.LinkType())
	}
	for i, p := range in {
		want := Packet{Index: i + 1, Port: "client", Time: p.Time, Data: p.Data, OrigLen: p.OrigLen}
		if !reflect.DeepEqual(got[i], want) {
			t.Errorf("packet %d:\n got  %+v\n want %+v", i+1, got[i], want)
		}
		data, ci, err := pr.ReadPacketData()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(data, p.Data) || !ci.Timestamp.Equal(p.Time) || ci.Length != max(p.OrigLen, len(p.Data)) {
			t.Errorf("pcapgo packet %d: %d bytes (%d) at %v, want %d (%d) at %v", i+1, len(data), ci.Length, ci.Timestamp, len(p.Data), p.OrigLen, p.Time)
		}
	}
}

// TestPcapFormats reads pcap files in both byte orders and resolutions,
// written out by hand from draft-ietf-opsawg-pcap section 4.
func TestPcapFormats(t *testing.T) {
	data := "0200000000010200000000990800"
	tests := []struct {
		name, hex string
		want      time.Time
	}{
		{"little endian micro", "d4c3b2a1 0200 0400 00000000 00000000 ffff0000 01000000" +
			"10000000 40e20100 0e000000 0e000000" + data, time.Unix(16, 123456000)},
		{"big endian micro", "a1b2c3d4 0002 0004 00000000 00000000 0000ffff 00000001" +
			"00000010 0001e240 0000000e 0000000e" + data, time.Unix(16, 123456000)},
		{"little endian nano", "4d3cb2a1 0200 0400 00000000 00000000 ffff0000 01000000" +
			"10000000 15cd5b07 0e000000 0e000000" + data, time.Unix(16, 123456789)},
		{"big endian nano", "a1b23c4d 0002 0004 00000000 00000000 0000ffff 00000001" +
			"00000010 075bcd15 0000000e 0000000e" + data, time.Unix(16, 123456789)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := readAll(t, mustHex(t, tt.hex), "p1")
			if len(got) != 1 {
				t.Fatalf("read %d packets, want 1", len(got))
			}
			if !got[0].Time.Equal(tt.want) || hex.EncodeToString(got[0].Data) != data || got[0].Port != "p1" {
				t.Errorf("got %v %x %q, want %v %s %q", got[0].Time, got[0].Data, got[0].Port, tt.want, data, "p1")
			}
		})
	}
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// generatorFiles lists the pcapng-test-generator files (testdata/README).
func generatorFiles(t *testing.T) []string {
	files, err := filepath.Glob("testdata/pcapng-test-generator/le/*.pcapng")
	if err != nil || len(files) == 0 {
		t.Fatalf("no test files: %v", err)
	}
	return files
}

// readUntilError reads packets until the end or the first error.
func readUntilError(t *testing.T, path string) ([]Packet, error) {
	t.Helper()
	r, err := Open(path, "")
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var out []Packet
	for {
		p, err := r.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		p.Data = bytes.Clone(p.Data)
		out = append(out, p)
	}
}

// TestByteOrders reads each generator file in its little-endian and
// big-endian version: the packets must be the same.
func TestByteOrders(t *testing.T) {
	for _, le := range generatorFiles(t) {
		be := strings.Replace(le, "/le/", "/be/", 1)
		t.Run(filepath.Base(le), func(t *testing.T) {
			pl, errL := readUntilError(t, le)
			pb, errB := readUntilError(t, be)
			if !reflect.DeepEqual(pl, pb) {
				t.Errorf("little endian %d packets, big endian %d differ:\n%+v\n%+v", len(pl), len(pb), pl, pb)
			}
			if (errL == nil) != (errB == nil) {
				t.Errorf("errors differ: %v / %v", errL, errB)
			}
		})
	}
}

func TestReadErrors(t *testing.T) {
	shb := "0a0d0d0a 1c000000 4d3c2b1a 0100 0000 ffffffffffffffff 1c000000"
	idb := "01000000 14000000 0100 0000 00000400 14000000"
	idbNull := "01000000 14000000 0000 0000 00000400 14000000"
	epb := func(ifc string) string {
		return "06000000 30000000 " + ifc + " 00000000 00000000 0e000000 0e000000 020000000001020000000099 0800 0000 30000000"
	}
	pcapHdr := "d4c3b2a1 0200 0400 00000000 00000000 ffff0000 01000000"
	tests := []struct {
		name, hex, want string
	}{
		{"empty", "", "f: offset 0: not a pcap or pcapng file: 0 bytes"},
		{"bad magic", "01020304 0000", "f: offset 0: not a pcap or pcapng file (magic 0x01020304)"},
		{"pcap cut header", "d4c3b2a1 0200", "f: offset 0: pcap file header: file ends inside it: unexpected EOF"},
		{"pcap version", "d4c3b2a1 0100 0000 00000000 00000000 ffff0000 01000000", "f: offset 0: pcap version 1.0 not supported (want 2.4)"},
		{"pcap link type", "d4c3b2a1 0200 0400 00000000 00000000 ffff0000 71000000", "f: offset 0: link type 113 is not Ethernet (1)"},
		{"pcap fcs", "d4c3b2a1 0200 0400 00000000 00000000 ffff0000 01000010", "f: offset 0: pcap frames carry an FCS: not supported"},
		{"pcap cut record", pcapHdr + "00000000 00000000 0e000000 0e000000 0200", "f: packet 1 (offset 24): record: file ends inside it: unexpected EOF"},
		// pcapgo v1.7.7 reads this as a clean end of file (io.EOF).
		{"pcap record without data", pcapHdr + "00000000 00000000 0e000000 0e000000", "f: packet 1 (offset 24): record: file ends inside it: unexpected EOF"},
		{"pcap cut record header", pcapHdr + "00000000 00000000 0e000000 0e000000 020000000001020000000099 0800 0000", "f: packet 2 (offset 54): record header: file ends inside it: unexpected EOF"},
		{"pcap huge record", pcapHdr + "00000000 00000000 ffffffff 0e000000", "f: packet 1 (offset 24): record of 4294967295 bytes, more than 67108864"},
		{"ng bad byte order", "0a0d0d0a 1c000000 01020304", "f: offset 0: pcapng: section header: bad byte-order magic 0x01020304"},
		{"ng version", "0a0d0d0a 1c000000 4d3c2b1a 0200 0000 ffffffffffffffff 1c000000", "f: offset 0: pcapng: version 2.0 not supported (want 1.x)"},
		{"ng section length", "0a0d0d0a 1d000000 4d3c2b1a", "f: offset 0: pcapng: section header has bad length 29"},
		{"ng block length", shb + "01000000 0d000000", "f: offset 28: pcapng: block type 0x1 has bad length 13"},
		{"ng trailer", shb + "01000000 14000000 0100 0000 00000400 18000000", "f: offset 28: pcapng: block type 0x1: trailing length 24, leading 20"},
		{"ng cut block", shb + idb + "06000000 2c000000 00000000", "f: packet 1 (offset 48): pcapng: block type 0x6: file ends inside it: unexpected EOF"},
		{"ng unknown interface", shb + idb + epb("01000000"), "f: packet 1 (offset 48): pcapng: packet on interface 1, but the section has 1"},
		{"ng not ethernet", shb + idbNull + epb("00000000"), `f: packet 1 (offset 48): pcapng: interface 0 ("") has link type 0, not Ethernet (1)`},
		{"ng second packet", shb + idb + epb("00000000") + epb("02000000"), "f: packet 2 (offset 96): pcapng: packet on interface 2, but the section has 1"},
		{"ng captured length", shb + idb + "06000000 20000000 00000000 00000000 00000000 ff000000 ff000000 20000000", "f: packet 1 (offset 48): pcapng: enhanced packet block: captured length 255 runs past the block"},
		{"ng option past block", shb + "01000000 18000000 0100 0000 00000400 0200 0800 18000000", "f: offset 28: pcapng: interface 0: option 2 of 8 bytes runs past the block"},
		{"ng bad tsresol", shb + "01000000 1c000000 0100 0000 00000400 0900 0100 14000000 1c000000", "f: offset 28: pcapng: interface 0: if_tsresol 10^-20 not supported"},
		{"ng interfaces reset by a new section", shb + idb + shb + epb("00000000"), "f: packet 1 (offset 76): pcapng: packet on interface 0, but the section has 0"},
		{"ng first block", "0a0d0d0a", "f: offset 0: pcapng: block header: file ends inside it: unexpected EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewReader(bytes.NewReader(mustHex(t, tt.hex)), "f", "")
			for err == nil {
				_, err = r.Next()
			}
			if err == io.EOF {
				t.Fatalf("read to the end, want error %q", tt.want)
			}
			if err.Error() != tt.want {
				t.Fatalf("error:\n got  %q\n want %q", err, tt.want)
			}
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Fatalf("error is %T, want *InputError", err)
			}
		})
	}
}

// TestNgFeatures reads hand-made pcapng with the features our writer does
// not use: big endian, several sections, if_tsresol in powers of two,
// if_tsoffset, unnamed interfaces, Simple and obsolete Packet Blocks,
// and several comments.
func TestNgFeatures(t *testing.T) {
	got := readAll(t, ngFeatures(t), "dflt")
	want := []Packet{
		{Index: 1, Port: "a", Time: time.Unix(1000+2, 500_000_000).UTC(), Data: frame(1, 14), Comment: "one\ntwo"},
		{Index: 2, Port: "dflt", Time: time.Unix(7, 250_000).UTC(), Data: frame(2, 14)},
		{Index: 3, Port: "a", Time: time.Unix(7, 250_000).UTC(), Data: frame(3, 10), OrigLen: 14},
		{Index: 4, Port: "b", Time: time.Unix(5, 0).UTC(), Data: frame(4, 14)},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got\n%+v\nwant\n%+v", got, want)
	}
}

// ngFeatures builds the file for TestNgFeatures.
type byteOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

func ngFeatures(t *testing.T) []byte {
	var out []byte
	block := func(o byteOrder, typ uint32, body []byte) {
		out = o.AppendUint32(out, typ)
		out = o.AppendUint32(out, uint32(12+len(body)))
		out = append(out, body...)
		out = o.AppendUint32(out, uint32(12+len(body)))
	}
	opt := func(o byteOrder, b []byte, code uint16, v []byte) []byte {
		b = o.AppendUint16(b, code)
		b = o.AppendUint16(b, uint16(len(v)))
		b = append(b, v...)
		return append(b, make([]byte, (4-len(v)%4)%4)...)
	}
	shb := func(o byteOrder) {
		b := o.AppendUint32(nil, ngByteOrder)
		b = o.AppendUint16(b, 1)
		b = o.AppendUint16(b, 0)
		b = o.AppendUint64(b, ^uint64(0))
		block(o, blockSHB, b)
	}
	idb := func(o byteOrder, snap uint32, opts []byte) {
		b := o.AppendUint16(nil, 1)
		b = o.AppendUint16(b, 0)
		b = o.AppendUint32(b, snap)
		block(o, blockIDB, append(b, opts...))
	}
	pkt := func(o byteOrder, typ uint32, ifc uint32, ts uint64, data []byte, orig int, opts []byte) {
		var b []byte
		if typ == blockPB {
			b = o.AppendUint16(b, uint16(ifc))
			b = o.AppendUint16(b, 0) // drops
		} else {
			b = o.AppendUint32(b, ifc)
		}
		b = o.AppendUint32(b, uint32(ts>>32))
		b = o.AppendUint32(b, uint32(ts))
		b = o.AppendUint32(b, uint32(len(data)))
		b = o.AppendUint32(b, uint32(orig))
		b = append(b, data...)
		b = append(b, make([]byte, (4-len(data)%4)%4)...)
		block(o, typ, append(b, opts...))
	}
	var be, le byteOrder = binary.BigEndian, binary.LittleEndian
	// Section 1, big endian: "a" with 2^-10 units and an offset of 1000 s;
	// an unnamed interface with the default microseconds.
	shb(be)
	var o []byte
	o = opt(be, o, optIfName, []byte("a"))
	o = opt(be, o, optIfTsresol, []byte{0x80 | 10})
	o = opt(be, o, optIfTsoffset, be.AppendUint64(nil, 1000))
	idb(be, 10, append(o, 0, 0, 0, 0))
	var c []byte
	c = opt(be, c, optComment, []byte("one"))
	c = opt(be, c, optComment, []byte("two"))
	pkt(be, blockEPB, 0, 2*1024+512, frame(1, 14), 14, append(c, 0, 0, 0, 0))
	idb(be, 0, nil)
	pkt(be, blockPB, 1, 7_000_250, frame(2, 14), 14, nil)
	// A Simple Packet Block: interface 0, cut to its snap length of 10,
	// and the time of the packet before it.
	b := be.AppendUint32(nil, 14)
	b = append(b, frame(3, 14)...)
	b = append(b, 0, 0)
	block(be, blockSPB, b)
	// Section 2, little endian: interface ids start again.
	shb(le)
	idb(le, 0, append(opt(le, opt(le, nil, optIfName, []byte("b")), optIfTsresol, []byte{0}), 0, 0, 0, 0))
	pkt(le, blockEPB, 0, 5, frame(4, 14), 14, nil)
	return out
}

// TestStreaming reads a 200000-packet file and checks that the heap does
// not grow with it: the reader keeps one packet at a time.
func TestStreaming(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 30 MB file")
	}
	path := filepath.Join(t.TempDir(), "big.pcapng")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := NewNgWriter(f, NgOptions{})
	if err != nil {
		t.Fatal(err)
	}
	const n = 200000
	data := frame(7, 100)
	for i := range n {
		p := Packet{Port: []string{"a", "b", "c"}[i%3], Time: t0.Add(time.Duration(i) * time.Microsecond), Data: data}
		if i%1000 == 0 {
			p.Comment = "drop: test"
			p.Verdict = &DropVerdict
		}
		if err := w.Write(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	st, _ := os.Stat(path)

	r, err := Open(path, "")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var before, after runtime.MemStats
	count := 0
	for {
		p, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		count++
		if p.Index != count || len(p.Data) != 100 {
			t.Fatalf("packet %d: index %d, %d bytes", count, p.Index, len(p.Data))
		}
		if count == 1000 {
			runtime.GC()
			runtime.ReadMemStats(&before)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if count != n {
		t.Fatalf("read %d packets, want %d", count, n)
	}
	grew := int64(after.HeapInuse) - int64(before.HeapInuse)
	if limit := st.Size() / 10; grew > limit {
		t.Fatalf("heap in use grew by %d bytes reading a %d-byte file (limit %d)", grew, st.Size(), limit)
	}
	t.Logf("file %d bytes, heap in use grew by %d bytes", st.Size(), grew)
}

func TestWriteErrors(t *testing.T) {
	w, err := NewNgWriter(io.Discard, NgOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(Packet{Data: frame(1, 14)}); err == nil || err.Error() != "pcapng: packet without a port" {
		t.Errorf("packet without port: %v", err)
	}
	if err := w.Write(Packet{Port: "a", Time: time.Unix(-1, 0), Data: frame(1, 14)}); err == nil || !strings.Contains(err.Error(), "out of range") {
		t.Errorf("time before 1970: %v", err)
	}
	pw, _ := NewPcapWriter(io.Discard)
	if err := pw.Write(Packet{Data: make([]byte, snapLen+1)}); err == nil {
		t.Errorf("pcap packet longer than the snap length: no error")
	}
}

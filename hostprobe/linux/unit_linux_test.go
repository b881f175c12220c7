package linux

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"golang.org/x/sys/unix"
)

func TestMissingCaps(t *testing.T) {
	const all = 1<<capNetAdmin | 1<<capNetRaw | 1<<capSysAdmin
	tests := []struct {
		name      string
		eff       uint64
		wantErr   bool
		wantNames []string
		notNames  []string
	}{
		{"root", ^uint64(0), false, nil, nil},
		{"exactly the three", all, false, nil, nil},
		{"none", 0, true, []string{"without CAP_NET_ADMIN", "CAP_SYS_ADMIN (unshare", "CAP_NET_RAW (AF_PACKET"}, nil},
		{"no raw", all &^ (1 << capNetRaw), true, []string{"without CAP_NET_RAW"}, []string{"without CAP_NET_ADMIN", "CAP_SYS_ADMIN ("}},
		{"no sys admin", all &^ (1 << capSysAdmin), true, []string{"without CAP_SYS_ADMIN"}, []string{"CAP_NET_RAW ("}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := missingCaps(tt.eff, 1000)
			if (err != nil) != tt.wantErr {
				t.Fatalf("missingCaps(%#x): got %v, want error %v", tt.eff, err, tt.wantErr)
			}
			if err == nil {
				return
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "hostprobe/linux: needs root or CAP_NET_ADMIN, CAP_SYS_ADMIN and CAP_NET_RAW; running as uid 1000") {
				t.Errorf("got %q, want it to say what is needed and the uid", msg)
			}
			for _, s := range tt.wantNames {
				if !strings.Contains(msg, s) {
					t.Errorf("got %q, want it to contain %q", msg, s)
				}
			}
			for _, s := range tt.notNames {
				if strings.Contains(msg, s) {
					t.Errorf("got %q, want it not to contain %q", msg, s)
				}
			}
		})
	}
}

func TestReadCapEff(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, content string
		want          uint64
		wantErr       string
	}{
		{"root", "Name:\tx\nCapInh:\t0000000000000000\nCapEff:\t000001ffffffffff\n", 0x1ffffffffff, ""},
		{"net admin only", "CapEff:\t0000000000001000\n", 1 << capNetAdmin, ""},
		{"garbage", "CapEff:\tzz\n", 0, ":1: CapEff:"},
		{"missing", "Name:\tx\n", 0, "no CapEff line"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, tt.name)
			must(t, os.WriteFile(p, []byte(tt.content), 0o644))
			got, err := readCapEff(p)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("got %v, want error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("got %#x, %v; want %#x", got, err, tt.want)
			}
		})
	}
	// The real file parses, and CheckPrivileges agrees with the effective uid's power here.
	if _, err := readCapEff("/proc/self/status"); err != nil {
		t.Errorf("readCapEff(/proc/self/status): %v", err)
	}
}

// markerSeeds are the table cases of TestParseMarker, also used as fuzz seeds.
var markerSeeds = []string{"123 456\n", "1 0", "0 5\n", "12 x\n", "12\n", "", "1 2 3\n", "-4 5\n", "99999999999 1\n"}

func TestParseMarker(t *testing.T) {
	tests := []struct {
		in        string
		pid       int
		start     uint64
		wantError string
	}{
		{"123 456\n", 123, 456, ""},
		{"1 0", 1, 0, ""},
		{"0 5\n", 0, 0, "field 1 (pid)"},
		{"-4 5\n", 0, 0, "field 1 (pid)"},
		{"99999999999 1\n", 0, 0, "field 1 (pid)"},
		{"12 x\n", 0, 0, "field 2 (start time)"},
		{"12\n", 0, 0, "got 1 fields, want 2"},
		{"", 0, 0, "got 0 fields, want 2"},
		{"1 2 3\n", 0, 0, "got 3 fields, want 2"},
	}
	for _, tt := range tests {
		pid, start, err := parseMarker([]byte(tt.in))
		if tt.wantError != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantError) {
				t.Errorf("parseMarker(%q): got %v, want error containing %q", tt.in, err, tt.wantError)
			}
			continue
		}
		if err != nil || pid != tt.pid || start != tt.start {
			t.Errorf("parseMarker(%q): got %d, %d, %v; want %d, %d", tt.in, pid, start, err, tt.pid, tt.start)
		}
		if got := formatMarker(pid, start); strings.TrimSpace(got) != strings.TrimSpace(tt.in) {
			t.Errorf("formatMarker(%d, %d): got %q, want %q", pid, start, got, tt.in)
		}
	}
}

func FuzzParseMarker(f *testing.F) {
	for _, s := range markerSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		pid, start, err := parseMarker(b)
		if err != nil {
			return
		}
		// Round trip: what parsed formats back to something that parses the same.
		pid2, start2, err := parseMarker([]byte(formatMarker(pid, start)))
		if err != nil || pid2 != pid || start2 != start || pid <= 0 {
			t.Errorf("round trip of %q: got %d, %d, %v; want %d, %d", b, pid2, start2, err, pid, start)
		}
	})
}

// statSeeds are /proc/<pid>/stat contents for TestParseStatStartTime and the fuzz seeds.
var statSeeds = []string{
	"1234 (go) S 1 1234 1234 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 8 0 98765 1000000 300 18446744073709551615\n",
	"77 (a b) c)) R 1 77 77 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 42 0 0\n",
	"5 (x) S 1 2 3\n",
	"no parens here",
}

func TestParseStatStartTime(t *testing.T) {
	tests := []struct {
		in      string
		want    uint64
		wantErr string
	}{
		{statSeeds[0], 98765, ""},
		// proc(5): the command name may hold spaces and parentheses; fields count after the last ')'.
		{statSeeds[1], 42, ""},
		{statSeeds[2], 0, "got 4 fields after the command name"},
		{statSeeds[3], 0, "no ')'"},
		{"1 (x) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 abc 0\n", 0, "field 22 (starttime)"},
	}
	for _, tt := range tests {
		got, err := parseStatStartTime([]byte(tt.in))
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("parseStatStartTime(%q): got %v, want error containing %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("parseStatStartTime(%q): got %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
	// Against the kernel: our own start time is stable and a marker for us reads as alive.
	a, err := procStartTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := procStartTime(os.Getpid())
	if a != b || a == 0 {
		t.Errorf("procStartTime(self): got %d then %d, want the same non-zero value", a, b)
	}
	dir := t.TempDir()
	alive, stale := filepath.Join(dir, "alive"), filepath.Join(dir, "stale")
	must(t, os.WriteFile(alive, []byte(formatMarker(os.Getpid(), a)), 0o644))
	must(t, os.WriteFile(stale, []byte(formatMarker(os.Getpid(), a+1)), 0o644))
	if !markerAlive(alive) || markerAlive(stale) || markerAlive(filepath.Join(dir, "missing")) {
		t.Errorf("markerAlive: got alive=%v stale=%v missing=%v, want true, false, false",
			markerAlive(alive), markerAlive(stale), markerAlive(filepath.Join(dir, "missing")))
	}
}

func FuzzParseStatStartTime(f *testing.F) {
	for _, s := range statSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = parseStatStartTime(b) // must not panic
	})
}

// cmsg builds one control message as the kernel lays it out.
func cmsg(level, typ int32, data []byte) []byte {
	b := make([]byte, unix.CmsgSpace(len(data)))
	binary.NativeEndian.PutUint64(b[0:8], uint64(unix.CmsgLen(len(data))))
	binary.NativeEndian.PutUint32(b[8:12], uint32(level))
	binary.NativeEndian.PutUint32(b[12:16], uint32(typ))
	copy(b[unix.CmsgLen(0):], data)
	return b
}

// auxdata returns a struct tpacket_auxdata.
func auxdata(status uint32, tci, tpid uint16) []byte {
	b := make([]byte, auxdataLen)
	binary.NativeEndian.PutUint32(b[0:4], status)
	binary.NativeEndian.PutUint16(b[16:18], tci)
	binary.NativeEndian.PutUint16(b[18:20], tpid)
	return b
}

// timespec returns a struct timespec.
func timespec(sec, nsec int64) []byte {
	b := make([]byte, 16)
	binary.NativeEndian.PutUint64(b[0:8], uint64(sec))
	binary.NativeEndian.PutUint64(b[8:16], uint64(nsec))
	return b
}

func TestParseControlAndVLAN(t *testing.T) {
	frame := serialize(t, &layers.Ethernet{SrcMAC: mustMAC("02:00:00:00:00:01"), DstMAC: mustMAC("02:00:00:00:00:02"), EthernetType: layers.EthernetTypeIPv4},
		&layers.IPv4{Version: 4, TTL: 1, Protocol: layers.IPProtocolUDP, SrcIP: ip4("10.0.0.1"), DstIP: ip4("10.0.0.2")},
		&layers.UDP{SrcPort: 1, DstPort: 2})
	ts := timespec(1700000000, 123456789)
	tests := []struct {
		name        string
		oob         []byte
		wantTime    time.Time
		wantPartial bool
		wantVLAN    int    // -1: no tag
		wantTPID    uint16 // with a tag
	}{
		{"nothing", nil, time.Time{}, false, -1, 0},
		{"timestamp only", cmsg(unix.SOL_SOCKET, unix.SCM_TIMESTAMPNS, ts), time.Unix(1700000000, 123456789), false, -1, 0},
		{"checksum not ready", cmsg(unix.SOL_PACKET, unix.PACKET_AUXDATA, auxdata(unix.TP_STATUS_CSUMNOTREADY, 0, 0)), time.Time{}, true, -1, 0},
		{"vlan 100 default tpid", append(cmsg(unix.SOL_SOCKET, unix.SCM_TIMESTAMPNS, ts),
			cmsg(unix.SOL_PACKET, unix.PACKET_AUXDATA, auxdata(unix.TP_STATUS_VLAN_VALID, 100, 0))...), time.Unix(1700000000, 123456789), false, 100, 0x8100},
		{"vlan 7 with 802.1ad tpid", cmsg(unix.SOL_PACKET, unix.PACKET_AUXDATA,
			auxdata(unix.TP_STATUS_VLAN_VALID|unix.TP_STATUS_VLAN_TPID_VALID, 0x2007, 0x88a8)), time.Time{}, false, 7, 0x88a8},
		{"short auxdata ignored", cmsg(unix.SOL_PACKET, unix.PACKET_AUXDATA, []byte{1, 2, 3}), time.Time{}, false, -1, 0},
		{"truncated header ignored", []byte{1, 2, 3}, time.Time{}, false, -1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctl := parseControl(tt.oob)
			if !ctl.time.Equal(tt.wantTime) {
				t.Errorf("time: got %v, want %v", ctl.time, tt.wantTime)
			}
			if got := ctl.status&unix.TP_STATUS_CSUMNOTREADY != 0; got != tt.wantPartial {
				t.Errorf("checksum partial: got %v, want %v", got, tt.wantPartial)
			}
			data := frameData(frame, ctl)
			p := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.Default)
			if tt.wantVLAN < 0 {
				if !bytes.Equal(data, frame) {
					t.Errorf("got % x, want the frame unchanged", data)
				}
				return
			}
			eth := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
			if uint16(eth.EthernetType) != tt.wantTPID {
				t.Errorf("TPID: got %#04x, want %#04x", uint16(eth.EthernetType), tt.wantTPID)
			}
			if tt.wantTPID == 0x8100 {
				d, _ := p.Layer(layers.LayerTypeDot1Q).(*layers.Dot1Q)
				if d == nil || int(d.VLANIdentifier) != tt.wantVLAN || d.Type != layers.EthernetTypeIPv4 {
					t.Errorf("802.1Q: got %+v, want VLAN %d carrying IPv4", d, tt.wantVLAN)
				}
			}
			if got, want := len(data), len(frame)+4; got != want {
				t.Errorf("length: got %d, want %d", got, want)
			}
			if !bytes.Equal(data[16:], frame[12:]) || !bytes.Equal(data[:12], frame[:12]) {
				t.Errorf("got % x, want the tag inserted after the MACs of % x", data, frame)
			}
		})
	}
}

func FuzzParseControl(f *testing.F) {
	f.Add([]byte(nil), []byte{0x45})
	f.Add(cmsg(unix.SOL_SOCKET, unix.SCM_TIMESTAMPNS, timespec(1, 2)), []byte("0123456789abcdef"))
	f.Add(cmsg(unix.SOL_PACKET, unix.PACKET_AUXDATA, auxdata(unix.TP_STATUS_VLAN_VALID, 5, 0)), []byte("0123456789abcdef"))
	f.Fuzz(func(t *testing.T, oob, frame []byte) {
		ctl := parseControl(oob)
		data := frameData(frame, ctl)
		if want := len(frame); ctl.vlanValid && want >= 12 {
			if len(data) != want+4 {
				t.Errorf("tagged: got %d bytes, want %d", len(data), want+4)
			}
		} else if !bytes.Equal(data, frame) {
			t.Errorf("untagged: got % x, want % x", data, frame)
		}
	})
}

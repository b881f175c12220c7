package windows

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParsePktmonText: pktmon text of any bytes and encoding parses or fails, never
// panics; seeded from the table tests.
func FuzzParsePktmonText(f *testing.F) {
	real, _ := os.ReadFile("testdata/etl2txt-container-dns.txt")
	f.Add(real)
	f.Add([]byte(localised))
	f.Add(utf16LE(string(crlf(localised))))
	f.Add([]byte("Property: Component 6, PhysAddress = 0x00155DC88E16"))
	f.Add([]byte("1,2,3,x,y,4,5,6,a b,c d,7,8"))
	f.Add([]byte("Drop: PktGroupId 7, PktNumber 1, Appearance 0, Direction Rx, Type IP, Component 49, Filter 1, DropReason INET: x, DropLocation 0xE000460A, OriginalSize 402, LoggedSize 148"))
	f.Add([]byte("1,2,3,x,y,4,5,6,7"))
	f.Fuzz(func(t *testing.T, data []byte) {
		text := decodeOutput(data)
		got, err := parsePktmonText("fuzz.txt", text)
		if err == nil {
			for _, p := range got.Packets {
				if p.Line < 1 {
					t.Fatalf("packet without a line: %+v", p)
				}
			}
		}
		_, _ = DetectPktmonSyntax(text)
	})
}

// FuzzParsePktmonCounters: counters JSON of any shape parses or fails, never panics.
func FuzzParsePktmonCounters(f *testing.F) {
	f.Add([]byte(`[{"Group":"g","Components":[{"Id":11,"Counters":[{"Edge":1,"Rx":{"Packets":10},"Tx":{"Packets":3}}]}]}]`))
	f.Add([]byte(`[{"Id":3,"InboundPackets":7,"OutboundPackets":9,"DroppedPackets":1}]`))
	f.Add([]byte(`[{"Id":"x"}]`))
	f.Add([]byte(`{"a":[{"Id":1,"Rx":{"Packets":-1}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = parsePktmonCounters("fuzz.json", data)
	})
}

// FuzzReadJournal: a journal of any bytes reads or fails with a located error.
func FuzzReadJournal(f *testing.F) {
	f.Add([]byte("add network 0001 hnsp-0a1b2c-cbr0\nadd namespace 0002 hnsp-0a1b2c-ns-a\ngone namespace 0002\n"))
	f.Add([]byte("bogus\n"))
	f.Add([]byte("gone x y\nadd a\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "j.txt")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		_, _ = readJournal(p)
	})
}

package pcapio

import (
	"bytes"
	"io"
	"testing"
	"time"

	"github.com/gopacket/gopacket/pcapgo"
)

// benchN is the number of small packets per benchmark operation.
const benchN = 1_000_000

// benchPackets returns the packets the benchmarks write: 60-byte frames on
// three ports, one in a thousand with a comment and a drop verdict.
func benchPackets() []Packet {
	ports := []string{"client", "host1/web", "host1/eth0"}
	data := frame(7, 60)
	ps := make([]Packet, 1000)
	for i := range ps {
		ps[i] = Packet{Port: ports[i%3], Time: t0.Add(time.Duration(i) * time.Microsecond), Data: data}
		if i == 0 {
			ps[i].Comment, ps[i].Verdict = "drop: test", &DropVerdict
		}
	}
	return ps
}

func benchWrite(b *testing.B, w Writer) {
	b.Helper()
	ps := benchPackets()
	for i := range benchN {
		if err := w.Write(ps[i%len(ps)]); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkWrite writes 1M small packets per operation.
func BenchmarkWrite(b *testing.B) {
	b.Run("pcapng", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			w, err := NewNgWriter(io.Discard, NgOptions{Application: "bench"})
			if err != nil {
				b.Fatal(err)
			}
			benchWrite(b, w)
		}
		b.ReportMetric(float64(benchN)*float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
	})
	b.Run("pcap", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			w, err := NewPcapWriter(io.Discard)
			if err != nil {
				b.Fatal(err)
			}
			benchWrite(b, w)
		}
		b.ReportMetric(float64(benchN)*float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
	})
}

// benchFile returns 1M small packets written as pcapng or pcap.
func benchFile(b *testing.B, ng bool) []byte {
	b.Helper()
	var buf bytes.Buffer
	var w Writer
	var err error
	if ng {
		w, err = NewNgWriter(&buf, NgOptions{})
	} else {
		w, err = NewPcapWriter(&buf)
	}
	if err != nil {
		b.Fatal(err)
	}
	benchWrite(b, w)
	return buf.Bytes()
}

// BenchmarkRead reads 1M small packets per operation, with this package's
// Reader and, for comparison, with gopacket's pcapgo readers (which this
// package does not use for reading: see doc.go).
func BenchmarkRead(b *testing.B) {
	for _, ng := range []bool{true, false} {
		name := "pcap"
		if ng {
			name = "pcapng"
		}
		file := benchFile(b, ng)
		b.Run(name+"/pcapio", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r, err := NewReader(bytes.NewReader(file), "bench", "p")
				if err != nil {
					b.Fatal(err)
				}
				n := 0
				for {
					_, err := r.Next()
					if err == io.EOF {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
					n++
				}
				if n != benchN {
					b.Fatalf("read %d packets, want %d", n, benchN)
				}
			}
			b.ReportMetric(float64(benchN)*float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
		})
		b.Run(name+"/pcapgo", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var n int
				if ng {
					r, err := pcapgo.NewNgReader(bytes.NewReader(file), pcapgo.NgReaderOptions{WantMixedLinkType: true})
					if err != nil {
						b.Fatal(err)
					}
					for {
						// With options, as Reader needs comments and verdicts.
						_, _, _, err := r.ZeroCopyReadPacketDataWithOptions()
						if err == io.EOF {
							break
						}
						if err != nil {
							b.Fatal(err)
						}
						n++
					}
				} else {
					r, err := pcapgo.NewReader(bytes.NewReader(file))
					if err != nil {
						b.Fatal(err)
					}
					for {
						_, _, err := r.ZeroCopyReadPacketData()
						if err == io.EOF {
							break
						}
						if err != nil {
							b.Fatal(err)
						}
						n++
					}
				}
				if n != benchN {
					b.Fatalf("read %d packets, want %d", n, benchN)
				}
			}
			b.ReportMetric(float64(benchN)*float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
		})
	}
}

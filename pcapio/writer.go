package pcapio

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Writer is what NgWriter and PcapWriter have in common.
type Writer interface {
	// Write appends a packet.
	Write(p Packet) error
	// Flush writes buffered data to the underlying writer.
	Flush() error
}

// NgOptions configure an NgWriter.
type NgOptions struct {
	// Application names the program that wrote the file (shb_userappl).
	Application string
	// Comment is the section comment, shown by Wireshark's capture file
	// properties.
	Comment string
	// Descriptions give an interface description (if_description) per
	// port name; ports without one get none.
	Descriptions map[string]string
}

// NgWriter writes pcapng: one section, one Ethernet interface per port
// (named after it, created when first used), nanosecond timestamps,
// comments and verdicts. It buffers: call Flush at the end.
//
// The blocks are written by gopacket's pcapgo.NgWriter. What this type
// adds is the mapping of ports to interfaces, and a section without
// interfaces: pcapgo writes the Section Header Block together with a first
// interface, so the pcapgo writer is made when the first port is, and a
// file without packets gets the Section Header Block alone.
type NgWriter struct {
	out   *bufio.Writer    // the caller's writer, buffered
	ng    *pcapgo.NgWriter // nil until the first port
	opts  NgOptions
	ports map[string]int

	// scratch for Write, reused so that a packet without a comment or
	// verdict allocates nothing
	comment [1]string
	verdict [1]pcapgo.NgEpbVerdict
	vbuf    []byte
}

// snapLen is the snap length written in interface and file headers.
const snapLen = 262144

// NewNgWriter returns a writer of pcapng to w. The Section Header Block
// is written with the first interface, or by Flush if there is none.
func NewNgWriter(w io.Writer, opts NgOptions) (*NgWriter, error) {
	return &NgWriter{out: bufio.NewWriterSize(w, 64<<10), opts: opts, ports: map[string]int{}}, nil
}

func (w *NgWriter) section() pcapgo.NgWriterOptions {
	return pcapgo.NgWriterOptions{SectionInfo: pcapgo.NgSectionInfo{Application: w.opts.Application, Comment: w.opts.Comment}}
}

func (w *NgWriter) iface(name string) pcapgo.NgInterface {
	return pcapgo.NgInterface{
		Name:                name,
		Description:         w.opts.Descriptions[name],
		LinkType:            layers.LinkTypeEthernet,
		SnapLength:          snapLen,
		TimestampResolution: 9, // nanoseconds; pcapgo writes 9 whatever is given
	}
}

// AddPort writes an Interface Description Block for the port unless it
// has one already, and returns the interface id. Write calls it for
// ports it has not seen.
func (w *NgWriter) AddPort(name string) (int, error) {
	if id, ok := w.ports[name]; ok {
		return id, nil
	}
	if name == "" {
		return 0, errors.New("pcapng: packet without a port")
	}
	if len(name) > math.MaxUint16 {
		return 0, fmt.Errorf("pcapng: port name of %d bytes is too long", len(name))
	}
	var id int
	var err error
	if w.ng == nil {
		w.ng, err = pcapgo.NewNgWriterInterface(w.out, w.iface(name), w.section())
	} else {
		id, err = w.ng.AddInterface(w.iface(name))
	}
	if err != nil {
		return 0, fmt.Errorf("pcapng: %w", err)
	}
	w.ports[name] = id
	return id, nil
}

// unixNano returns t in nanoseconds since 1970; the zero Time is 0.
func unixNano(t time.Time) (uint64, error) {
	if t.IsZero() {
		return 0, nil
	}
	if t.Before(time.Unix(0, 0)) || t.After(time.Unix(0, math.MaxInt64)) {
		return 0, fmt.Errorf("time %v out of range", t)
	}
	return uint64(t.UnixNano()), nil
}

// Write appends p as an Enhanced Packet Block (section 4.3) on the
// interface of p.Port, with p.Comment as opt_comment and p.Verdict as
// epb_verdict.
func (w *NgWriter) Write(p Packet) error {
	id, err := w.AddPort(p.Port)
	if err != nil {
		return err
	}
	ts, err := unixNano(p.Time)
	if err != nil {
		return fmt.Errorf("pcapng: %w", err)
	}
	if len(p.Data) > snapLen || len(p.Comment) > math.MaxUint16-3 {
		return fmt.Errorf("pcapng: packet of %d bytes or comment of %d bytes too long", len(p.Data), len(p.Comment))
	}
	ci := gopacket.CaptureInfo{
		Timestamp:      time.Unix(0, int64(ts)), // pcapgo writes UnixNano; the zero Time would not be 0
		CaptureLength:  len(p.Data),
		Length:         max(p.OrigLen, len(p.Data)),
		InterfaceIndex: id,
	}
	var opts pcapgo.NgPacketOptions
	if p.Comment != "" {
		w.comment[0] = p.Comment
		opts.Comments = w.comment[:]
	}
	if v := p.Verdict; v != nil {
		switch v.Type {
		case VerdictLinuxTC, VerdictLinuxXDP:
			w.vbuf = binary.LittleEndian.AppendUint64(w.vbuf[:0], v.Value)
		default:
			w.vbuf = append(w.vbuf[:0], v.Data...)
		}
		w.verdict[0] = pcapgo.NgEpbVerdict{Type: pcapgo.NgEpbVerdictType(v.Type), Data: w.vbuf}
		opts.Verdicts = w.verdict[:]
	}
	if err := w.ng.WritePacketWithOptions(ci, p.Data, opts); err != nil {
		return fmt.Errorf("pcapng: %w", err)
	}
	return nil
}

// Flush writes buffered blocks to the underlying writer.
func (w *NgWriter) Flush() error {
	if w.ng == nil {
		if err := w.sectionOnly(); err != nil {
			return err
		}
	} else if err := w.ng.Flush(); err != nil {
		return err
	}
	return w.out.Flush()
}

// sectionOnly writes the Section Header Block of a file without
// interfaces: pcapgo writes one with a first interface, into a scratch
// buffer here, and the first block is kept.
func (w *NgWriter) sectionOnly() error {
	var scratch bytes.Buffer
	ng, err := pcapgo.NewNgWriterInterface(&scratch, w.iface("-"), w.section())
	if err == nil {
		err = ng.Flush()
	}
	if err != nil {
		return fmt.Errorf("pcapng: %w", err)
	}
	b := scratch.Bytes()
	if n := int(binary.LittleEndian.Uint32(b[4:8])); n <= len(b) && binary.LittleEndian.Uint32(b) == blockSHB {
		_, err = w.out.Write(b[:n])
		return err
	}
	return errors.New("pcapng: pcapgo wrote no section header block")
}

// PcapWriter writes classic pcap (draft-ietf-opsawg-pcap) with nanosecond
// timestamps and link type Ethernet, through gopacket's pcapgo.Writer.
// pcap has no ports, comments or verdicts: Write ignores them. It buffers:
// call Flush at the end.
type PcapWriter struct {
	w  *bufio.Writer
	pw *pcapgo.Writer
}

// NewPcapWriter writes the pcap file header to w and returns a writer for
// the packets.
func NewPcapWriter(w io.Writer) (*PcapWriter, error) {
	bw := bufio.NewWriterSize(w, 64<<10)
	pw := pcapgo.NewWriterNanos(bw)
	if err := pw.WriteFileHeader(snapLen, layers.LinkTypeEthernet); err != nil {
		return nil, err
	}
	return &PcapWriter{w: bw, pw: pw}, nil
}

// Write appends a packet record.
func (w *PcapWriter) Write(p Packet) error {
	ts, err := unixNano(p.Time)
	if err != nil {
		return fmt.Errorf("pcap: %w", err)
	}
	if len(p.Data) > snapLen {
		return fmt.Errorf("pcap: packet of %d bytes, more than the snap length %d", len(p.Data), snapLen)
	}
	if ts/1e9 > math.MaxUint32 {
		return fmt.Errorf("pcap: time %v after 2106", p.Time)
	}
	ci := gopacket.CaptureInfo{
		Timestamp:     time.Unix(0, int64(ts)), // pcapgo writes the zero Time as now
		CaptureLength: len(p.Data),
		Length:        max(p.OrigLen, len(p.Data)),
	}
	if err := w.pw.WritePacket(ci, p.Data); err != nil {
		return fmt.Errorf("pcap: %w", err)
	}
	return nil
}

// Flush writes buffered records to the underlying writer.
func (w *PcapWriter) Flush() error { return w.w.Flush() }

package pcapio

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"time"
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
type NgWriter struct {
	w     *bufio.Writer
	opts  NgOptions
	ports map[string]uint32
	buf   []byte
}

// snapLen is the snap length written in interface and file headers.
const snapLen = 262144

// NewNgWriter writes a Section Header Block to w and returns a writer for
// the packets.
func NewNgWriter(w io.Writer, opts NgOptions) (*NgWriter, error) {
	nw := &NgWriter{w: bufio.NewWriterSize(w, 64<<10), opts: opts, ports: map[string]uint32{}}
	b := binary.LittleEndian.AppendUint32(nil, ngByteOrder)
	b = binary.LittleEndian.AppendUint16(b, 1)              // major version
	b = binary.LittleEndian.AppendUint16(b, 0)              // minor version
	b = binary.LittleEndian.AppendUint64(b, math.MaxUint64) // section length: not given (-1)
	var o []byte
	o = appendOption(o, optComment, []byte(opts.Comment))
	o = appendOption(o, 4, []byte(opts.Application)) // shb_userappl
	b = appendEnd(b, o)
	if err := nw.block(blockSHB, b); err != nil {
		return nil, err
	}
	return nw, nil
}

// appendOption appends one option (section 3.5) unless the value is empty.
func appendOption(b []byte, code uint16, v []byte) []byte {
	if len(v) == 0 {
		return b
	}
	b = binary.LittleEndian.AppendUint16(b, code)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(v)))
	b = append(b, v...)
	return append(b, make([]byte, (4-len(v)%4)%4)...)
}

// appendEnd appends the options o, ended by opt_endofopt, if there are any.
func appendEnd(b, o []byte) []byte {
	if len(o) == 0 {
		return b
	}
	b = append(b, o...)
	return append(b, 0, 0, 0, 0)
}

// block writes a block (section 3.1) with a body whose length is a
// multiple of 4.
func (w *NgWriter) block(typ uint32, body []byte) error {
	n := uint32(12 + len(body))
	var h [8]byte
	binary.LittleEndian.PutUint32(h[:], typ)
	binary.LittleEndian.PutUint32(h[4:], n)
	w.w.Write(h[:])
	w.w.Write(body)
	_, err := w.w.Write(h[4:])
	return err
}

// AddPort writes an Interface Description Block for the port unless it
// has one already, and returns the interface id. Write calls it for
// ports it has not seen.
func (w *NgWriter) AddPort(name string) (int, error) {
	if id, ok := w.ports[name]; ok {
		return int(id), nil
	}
	if name == "" {
		return 0, errors.New("pcapng: packet without a port")
	}
	if len(name) > math.MaxUint16 {
		return 0, fmt.Errorf("pcapng: port name of %d bytes is too long", len(name))
	}
	b := binary.LittleEndian.AppendUint16(nil, LinkTypeEthernet)
	b = binary.LittleEndian.AppendUint16(b, 0)
	b = binary.LittleEndian.AppendUint32(b, snapLen)
	var o []byte
	o = appendOption(o, optIfName, []byte(name))
	o = appendOption(o, optIfDesc, []byte(w.opts.Descriptions[name]))
	o = appendOption(o, optIfTsresol, []byte{9}) // nanoseconds
	b = appendEnd(b, o)
	if err := w.block(blockIDB, b); err != nil {
		return 0, err
	}
	id := uint32(len(w.ports))
	w.ports[name] = id
	return int(id), nil
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
	orig := max(p.OrigLen, len(p.Data))
	b := w.buf[:0]
	b = binary.LittleEndian.AppendUint32(b, uint32(id))
	b = binary.LittleEndian.AppendUint32(b, uint32(ts>>32))
	b = binary.LittleEndian.AppendUint32(b, uint32(ts))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(p.Data)))
	b = binary.LittleEndian.AppendUint32(b, uint32(orig))
	b = append(b, p.Data...)
	b = append(b, make([]byte, (4-len(p.Data)%4)%4)...)
	var o []byte
	o = appendOption(o, optComment, []byte(p.Comment))
	if v := p.Verdict; v != nil {
		vb := []byte{byte(v.Type)}
		switch v.Type {
		case VerdictLinuxTC, VerdictLinuxXDP:
			vb = binary.LittleEndian.AppendUint64(vb, v.Value)
		default:
			vb = append(vb, v.Data...)
		}
		o = appendOption(o, optEpbVerdict, vb)
	}
	b = appendEnd(b, o)
	w.buf = b
	return w.block(blockEPB, b)
}

// Flush writes buffered blocks to the underlying writer.
func (w *NgWriter) Flush() error { return w.w.Flush() }

// PcapWriter writes classic pcap (draft-ietf-opsawg-pcap) with nanosecond
// timestamps and link type Ethernet. pcap has no ports, comments or
// verdicts: Write ignores them. It buffers: call Flush at the end.
type PcapWriter struct {
	w   *bufio.Writer
	hdr [16]byte
}

// NewPcapWriter writes the pcap file header to w and returns a writer for
// the packets.
func NewPcapWriter(w io.Writer) (*PcapWriter, error) {
	pw := &PcapWriter{w: bufio.NewWriterSize(w, 64<<10)}
	h := binary.LittleEndian.AppendUint32(nil, pcapMagicNano)
	h = binary.LittleEndian.AppendUint16(h, 2)
	h = binary.LittleEndian.AppendUint16(h, 4)
	h = binary.LittleEndian.AppendUint32(h, 0) // reserved (thiszone)
	h = binary.LittleEndian.AppendUint32(h, 0) // reserved (sigfigs)
	h = binary.LittleEndian.AppendUint32(h, snapLen)
	h = binary.LittleEndian.AppendUint32(h, LinkTypeEthernet)
	if _, err := pw.w.Write(h); err != nil {
		return nil, err
	}
	return pw, nil
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
	binary.LittleEndian.PutUint32(w.hdr[0:], uint32(ts/1e9))
	binary.LittleEndian.PutUint32(w.hdr[4:], uint32(ts%1e9))
	binary.LittleEndian.PutUint32(w.hdr[8:], uint32(len(p.Data)))
	binary.LittleEndian.PutUint32(w.hdr[12:], uint32(max(p.OrigLen, len(p.Data))))
	w.w.Write(w.hdr[:])
	_, err = w.w.Write(p.Data)
	return err
}

// Flush writes buffered records to the underlying writer.
func (w *PcapWriter) Flush() error { return w.w.Flush() }

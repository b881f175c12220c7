package pcapio

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"os"
	"strings"
	"time"
)

// Format is a capture file format.
type Format uint8

// Capture formats.
const (
	FormatPcap Format = iota + 1
	FormatPcapng
)

// String returns "pcap" or "pcapng".
func (f Format) String() string {
	switch f {
	case FormatPcap:
		return "pcap"
	case FormatPcapng:
		return "pcapng"
	}
	return fmt.Sprintf("Format(%d)", uint8(f))
}

// Magic numbers (draft-ietf-opsawg-pcap section 4, pcapng section 4.1).
const (
	pcapMagicMicro = 0xa1b2c3d4
	pcapMagicNano  = 0xa1b23c4d
	ngByteOrder    = 0x1a2b3c4d
)

// pcapng block types (section 4 and 11.1).
const (
	blockSHB = 0x0a0d0d0a
	blockIDB = 0x00000001
	blockPB  = 0x00000002 // obsolete Packet Block (appendix A)
	blockSPB = 0x00000003
	blockEPB = 0x00000006
)

// pcapng option codes (sections 3.5, 4.2, 4.3).
const (
	optEndOfOpt    = 0
	optComment     = 1
	optIfName      = 2
	optIfDesc      = 3
	optIfMACaddr   = 6
	optIfTsresol   = 9
	optIfTsoffset  = 14
	optEpbPacketID = 5
	optEpbVerdict  = 7
)

// maxBlock bounds a block or record: larger ones are taken as corrupt.
const maxBlock = 64 << 20

// chunk is how much Reader allocates at a time while reading a block, so
// that a corrupt length in a short file does not allocate the whole length.
const chunk = 1 << 20

// iface is a pcapng interface (Interface Description Block).
type iface struct {
	linkType uint16
	snapLen  uint32
	name     string
	mac      []byte // if_MACaddr, or nil
	desc     string // if_description
	units    uint64 // timestamp units per second (if_tsresol)
	offset   int64  // seconds added to timestamps (if_tsoffset)
}

// Reader reads packets from a pcap or pcapng stream, one at a time.
type Reader struct {
	name   string // file name for errors
	port   string // default port
	br     *bufio.Reader
	closer io.Closer
	format Format
	order  binary.ByteOrder
	off    int64 // offset of the next unread byte
	n      int   // packets returned so far
	buf    []byte
	hdr    [28]byte

	nano   bool    // pcap: nanosecond timestamps
	ifaces []iface // pcapng: interfaces of the current section
	last   time.Time
	verd   Verdict
	pkt    Packet // the packet being read (pcapng), reused so reading allocates nothing per packet
	rawIP  bool   // AllowRawIP: raw IPv4/IPv6 link types accepted
	info   Info   // of the packet being read, for NextInfo
}

// NextInfo is Next, also returning what the capture says about the
// packet's interface and its packet id.
func (r *Reader) NextInfo() (Packet, Info, error) {
	r.info = Info{LinkType: LinkTypeEthernet}
	p, err := r.Next()
	return p, r.info, err
}

// AllowRawIP makes the Reader accept pcapng interfaces whose link type is
// raw IP (LINKTYPE_RAW 101, LINKTYPE_IPV4 228, LINKTYPE_IPV6 229), as
// etl2pcapng writes for pktmon packets of type IP. Their packets carry the
// link type in Packet.LinkType and start with the IP header.
func (r *Reader) AllowRawIP() { r.rawIP = true }

// NewReader returns a Reader for the capture r, whose format it detects
// from the magic number. name is used in errors. defaultPort is the port
// of packets from pcap files and from pcapng interfaces without a name; it
// may be empty. The Reader reads r through its own buffer.
func NewReader(r io.Reader, name, defaultPort string) (*Reader, error) {
	rd := &Reader{name: name, port: defaultPort, br: bufio.NewReaderSize(r, 64<<10)}
	magic, err := rd.br.Peek(4)
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = fmt.Errorf("not a pcap or pcapng file: %d bytes", len(magic))
		}
		return nil, rd.errAt(0, 0, err)
	}
	le, be := binary.LittleEndian.Uint32(magic), binary.BigEndian.Uint32(magic)
	switch {
	case le == blockSHB:
		rd.format = FormatPcapng
		if err := rd.nextBlockIsSHB(); err != nil {
			return nil, err
		}
	case le == pcapMagicMicro || le == pcapMagicNano:
		rd.format, rd.order, rd.nano = FormatPcap, binary.LittleEndian, le == pcapMagicNano
	case be == pcapMagicMicro || be == pcapMagicNano:
		rd.format, rd.order, rd.nano = FormatPcap, binary.BigEndian, be == pcapMagicNano
	default:
		return nil, rd.errAt(0, 0, fmt.Errorf("not a pcap or pcapng file (magic %#08x)", be))
	}
	if rd.format == FormatPcap {
		if err := rd.pcapHeader(); err != nil {
			return nil, err
		}
	}
	return rd, nil
}

// Open opens a capture file; see NewReader. Close the Reader when done.
func Open(path, defaultPort string) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	r, err := NewReader(f, path, defaultPort)
	if err != nil {
		f.Close()
		return nil, err
	}
	r.closer = f
	return r, nil
}

// Close closes the file if the Reader came from Open.
func (r *Reader) Close() error {
	if r.closer == nil {
		return nil
	}
	return r.closer.Close()
}

// Format returns the format of the capture.
func (r *Reader) Format() Format { return r.format }

func (r *Reader) errAt(pkt int, off int64, err error) *InputError {
	return &InputError{File: r.name, Packet: pkt, Offset: off, Err: err}
}

// readHdr reads n (at most len(r.hdr)) bytes into r.hdr. At a clean end
// of input it returns io.EOF.
func (r *Reader) readHdr(n int) ([]byte, error) {
	k, err := io.ReadFull(r.br, r.hdr[:n])
	r.off += int64(k)
	return r.hdr[:n], err
}

// read reads n bytes into the reused buffer, growing it a chunk at a time.
func (r *Reader) read(n int) ([]byte, error) {
	r.buf = r.buf[:0]
	for len(r.buf) < n {
		start := len(r.buf)
		c := min(n-start, chunk)
		if cap(r.buf) < start+c {
			nb := make([]byte, start, max(start+c, 2*cap(r.buf)))
			copy(nb, r.buf)
			r.buf = nb
		}
		r.buf = r.buf[:start+c]
		k, err := io.ReadFull(r.br, r.buf[start:])
		r.off += int64(k)
		if err != nil {
			r.buf = r.buf[:start+k]
			return r.buf, err
		}
	}
	return r.buf, nil
}

// truncated turns an end of input inside a block into a clear error.
func truncated(what string, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%s: file ends inside it: %w", what, io.ErrUnexpectedEOF)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// Next returns the next packet, or io.EOF after the last one. Errors are
// *InputError values (or the underlying reader's errors, wrapped). The
// packet's Data and Verdict are valid until the next call.
func (r *Reader) Next() (Packet, error) {
	if r.format == FormatPcap {
		return r.nextPcap()
	}
	return r.nextPcapng()
}

// pcapHeader reads the 24-byte pcap file header (draft-ietf-opsawg-pcap section 4).
func (r *Reader) pcapHeader() error {
	h, err := r.readHdr(24)
	if err != nil {
		return r.errAt(0, 0, truncated("pcap file header", err))
	}
	major, minor := r.order.Uint16(h[4:]), r.order.Uint16(h[6:])
	if major != 2 {
		return r.errAt(0, 0, fmt.Errorf("pcap version %d.%d not supported (want 2.4)", major, minor))
	}
	lt := r.order.Uint32(h[20:])
	if lt&(1<<28) != 0 {
		return r.errAt(0, 0, errors.New("pcap frames carry an FCS: not supported"))
	}
	if lt&0xffff != LinkTypeEthernet {
		return r.errAt(0, 0, fmt.Errorf("link type %d is not Ethernet (%d)", lt&0xffff, LinkTypeEthernet))
	}
	return nil
}

func (r *Reader) nextPcap() (Packet, error) {
	start := r.off
	pkt := r.n + 1
	h, err := r.readHdr(16)
	if err != nil {
		if err == io.EOF {
			return Packet{}, io.EOF
		}
		return Packet{}, r.errAt(pkt, start, truncated("record header", err))
	}
	sec, frac := r.order.Uint32(h[0:]), r.order.Uint32(h[4:])
	incl, orig := r.order.Uint32(h[8:]), r.order.Uint32(h[12:])
	if incl > maxBlock {
		return Packet{}, r.errAt(pkt, start, fmt.Errorf("record of %d bytes, more than %d", incl, maxBlock))
	}
	data, err := r.read(int(incl))
	if err != nil {
		return Packet{}, r.errAt(pkt, start, truncated("record", err))
	}
	ns := int64(frac)
	if !r.nano {
		ns *= 1000
	}
	r.n++
	p := Packet{Index: r.n, Port: r.port, Time: time.Unix(int64(sec), ns).UTC(), Data: data}
	if int(orig) > len(data) {
		p.OrigLen = int(orig)
	}
	return p, nil
}

// nextBlockIsSHB checks that the stream starts with a Section Header Block
// and reads it.
func (r *Reader) nextBlockIsSHB() error {
	_, err := r.block(true)
	return err
}

func (r *Reader) nextPcapng() (Packet, error) {
	for {
		p, err := r.block(false)
		if err != nil || p != nil {
			if p == nil {
				return Packet{}, err
			}
			return *p, err
		}
	}
}

// block reads one pcapng block (section 3.1). It returns a packet for
// packet blocks, nil for others, and io.EOF at a clean end of input.
func (r *Reader) block(first bool) (*Packet, error) {
	start := r.off
	h, err := r.readHdr(8)
	if err != nil {
		if err == io.EOF && !first {
			return nil, io.EOF
		}
		return nil, r.errAt(0, start, truncated("pcapng: block header", err))
	}
	typ := binary.LittleEndian.Uint32(h) // the SHB type reads the same both ways
	if typ == blockSHB {
		return nil, r.shb(start)
	}
	if first {
		return nil, r.errAt(0, start, fmt.Errorf("pcapng: first block has type %#x, want a section header", typ))
	}
	typ = r.order.Uint32(h)
	length := r.order.Uint32(h[4:])
	pkt := 0
	if typ == blockEPB || typ == blockSPB || typ == blockPB {
		pkt = r.n + 1
	}
	if length < 12 || length%4 != 0 || length > maxBlock {
		return nil, r.errAt(pkt, start, fmt.Errorf("pcapng: block type %#x has bad length %d", typ, length))
	}
	body, err := r.read(int(length) - 12)
	if err != nil {
		return nil, r.errAt(pkt, start, truncated(fmt.Sprintf("pcapng: block type %#x", typ), err))
	}
	t, err := r.readHdr(4)
	if err != nil {
		return nil, r.errAt(pkt, start, truncated(fmt.Sprintf("pcapng: block type %#x", typ), err))
	}
	if tl := r.order.Uint32(t); tl != length {
		return nil, r.errAt(pkt, start, fmt.Errorf("pcapng: block type %#x: trailing length %d, leading %d", typ, tl, length))
	}
	switch typ {
	case blockIDB:
		err = r.idb(body)
	case blockEPB, blockPB:
		var p *Packet
		p, err = r.epb(typ, body)
		if err == nil {
			r.n++
			p.Index = r.n
			return p, nil
		}
	case blockSPB:
		var p *Packet
		p, err = r.spb(body)
		if err == nil {
			r.n++
			p.Index = r.n
			return p, nil
		}
	}
	if err != nil {
		return nil, r.errAt(pkt, start, err)
	}
	return nil, nil
}

// shb reads the rest of a Section Header Block (section 4.1), whose byte
// order magic sets the byte order of the section. The block type and
// length have been read into r.hdr.
func (r *Reader) shb(start int64) error {
	var rawLen [4]byte
	copy(rawLen[:], r.hdr[4:8])
	h, err := r.readHdr(4)
	if err != nil {
		return r.errAt(0, start, truncated("pcapng: section header", err))
	}
	switch binary.LittleEndian.Uint32(h) {
	case ngByteOrder:
		r.order = binary.LittleEndian
	case 0x4d3c2b1a:
		r.order = binary.BigEndian
	default:
		return r.errAt(0, start, fmt.Errorf("pcapng: section header: bad byte-order magic %#08x", binary.BigEndian.Uint32(h)))
	}
	length := r.order.Uint32(rawLen[:])
	if length < 28 || length%4 != 0 || length > maxBlock {
		return r.errAt(0, start, fmt.Errorf("pcapng: section header has bad length %d", length))
	}
	body, err := r.read(int(length) - 16)
	if err != nil {
		return r.errAt(0, start, truncated("pcapng: section header", err))
	}
	t, err := r.readHdr(4)
	if err != nil {
		return r.errAt(0, start, truncated("pcapng: section header", err))
	}
	if tl := r.order.Uint32(t); tl != length {
		return r.errAt(0, start, fmt.Errorf("pcapng: section header: trailing length %d, leading %d", tl, length))
	}
	if major, minor := r.order.Uint16(body), r.order.Uint16(body[2:]); major != 1 {
		return r.errAt(0, start, fmt.Errorf("pcapng: version %d.%d not supported (want 1.x)", major, minor))
	}
	r.ifaces = r.ifaces[:0]
	return nil
}

// parseOptions calls fn for each option in b (section 3.5).
func (r *Reader) parseOptions(b []byte, fn func(code uint16, val []byte) error) error {
	for len(b) > 0 {
		if len(b) < 4 {
			return fmt.Errorf("option header cut short (%d bytes)", len(b))
		}
		code, n := r.order.Uint16(b), int(r.order.Uint16(b[2:]))
		if code == optEndOfOpt {
			return nil
		}
		padded := (n + 3) &^ 3
		if 4+padded > len(b) {
			if 4+n > len(b) {
				return fmt.Errorf("option %d of %d bytes runs past the block", code, n)
			}
			padded = len(b) - 4 // tolerate a missing pad at the end
		}
		if err := fn(code, b[4:4+n]); err != nil {
			return err
		}
		b = b[4+padded:]
	}
	return nil
}

// idb reads an Interface Description Block (section 4.2).
func (r *Reader) idb(b []byte) error {
	if len(b) < 8 {
		return fmt.Errorf("pcapng: interface block of %d bytes, need 8", len(b)+12)
	}
	ifc := iface{linkType: r.order.Uint16(b), snapLen: r.order.Uint32(b[4:]), units: 1e6}
	err := r.parseOptions(b[8:], func(code uint16, v []byte) error {
		switch code {
		case optIfName:
			ifc.name = string(v)
		case optIfDesc:
			ifc.desc = string(v)
		case optIfMACaddr:
			if len(v) == 6 {
				ifc.mac = bytes.Clone(v)
			}
		case optIfTsresol:
			if len(v) != 1 {
				return fmt.Errorf("if_tsresol of %d bytes, want 1", len(v))
			}
			e := uint(v[0] & 0x7f)
			if v[0]&0x80 != 0 {
				if e > 63 {
					return fmt.Errorf("if_tsresol 2^-%d not supported", e)
				}
				ifc.units = 1 << e
			} else {
				if e > 19 {
					return fmt.Errorf("if_tsresol 10^-%d not supported", e)
				}
				ifc.units = 1
				for range e {
					ifc.units *= 10
				}
			}
		case optIfTsoffset:
			if len(v) != 8 {
				return fmt.Errorf("if_tsoffset of %d bytes, want 8", len(v))
			}
			ifc.offset = int64(r.order.Uint64(v))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("pcapng: interface %d: %w", len(r.ifaces), err)
	}
	r.ifaces = append(r.ifaces, ifc)
	return nil
}

// ifaceFor returns the interface a packet block refers to, checking that
// it exists and is Ethernet.
func (r *Reader) ifaceFor(id uint32) (*iface, error) {
	if uint64(id) >= uint64(len(r.ifaces)) {
		return nil, fmt.Errorf("pcapng: packet on interface %d, but the section has %d", id, len(r.ifaces))
	}
	ifc := &r.ifaces[id]
	if r.rawIP && IsRawIP(ifc.linkType) {
		return ifc, nil
	}
	if ifc.linkType != LinkTypeEthernet {
		return nil, fmt.Errorf("pcapng: interface %d (%q) has link type %d, not Ethernet (%d)", id, ifc.name, ifc.linkType, LinkTypeEthernet)
	}
	return ifc, nil
}

func (r *Reader) portOf(ifc *iface) string {
	if ifc.name != "" {
		return ifc.name
	}
	return r.port
}

// timeOf converts a timestamp in the interface's units to a time.
func timeOf(ifc *iface, ts uint64) time.Time {
	sec, rem := ts/ifc.units, ts%ifc.units
	hi, lo := bits.Mul64(rem, 1e9)
	ns, _ := bits.Div64(hi, lo, ifc.units) // hi < units since rem < units
	s := int64(min(sec, math.MaxInt64/2)) + ifc.offset
	return time.Unix(s, int64(ns)).UTC()
}

// epb reads an Enhanced Packet Block (section 4.3) or an obsolete Packet
// Block (appendix A), which has a 16-bit interface id and a drop count.
func (r *Reader) epb(typ uint32, b []byte) (*Packet, error) {
	name := "enhanced packet block"
	if typ == blockPB {
		name = "packet block"
	}
	if len(b) < 20 {
		return nil, fmt.Errorf("pcapng: %s of %d bytes, need 32", name, len(b)+12)
	}
	id := r.order.Uint32(b)
	if typ == blockPB {
		id = uint32(r.order.Uint16(b))
	}
	ts := uint64(r.order.Uint32(b[4:]))<<32 | uint64(r.order.Uint32(b[8:]))
	capLen, origLen := r.order.Uint32(b[12:]), r.order.Uint32(b[16:])
	if uint64(capLen) > uint64(len(b)-20) {
		return nil, fmt.Errorf("pcapng: %s: captured length %d runs past the block", name, capLen)
	}
	ifc, err := r.ifaceFor(id)
	if err != nil {
		return nil, err
	}
	p := &r.pkt
	*p = Packet{Port: r.portOf(ifc), Time: timeOf(ifc, ts), Data: b[20 : 20+capLen]}
	r.info = Info{LinkType: ifc.linkType, Interface: ifc.name, IfaceMAC: ifc.mac, IfaceDescription: ifc.desc}
	if origLen > capLen {
		p.OrigLen = int(origLen)
	}
	opts := b[min(len(b), 20+int((capLen+3)&^3)):]
	var comments []string
	err = r.parseOptions(opts, func(code uint16, v []byte) error {
		switch code {
		case optComment:
			comments = append(comments, string(v))
		case optEpbPacketID:
			if typ == blockEPB && len(v) == 8 {
				r.info.PacketID, r.info.HasPacketID = r.order.Uint64(v), true
			}
		case optEpbVerdict:
			if typ != blockEPB {
				return nil
			}
			if len(v) < 1 {
				return errors.New("empty epb_verdict")
			}
			r.verd = Verdict{Type: VerdictType(v[0])}
			switch r.verd.Type {
			case VerdictLinuxTC, VerdictLinuxXDP:
				if len(v) != 9 {
					return fmt.Errorf("epb_verdict of type %v has %d bytes, want 8", r.verd.Type, len(v)-1)
				}
				r.verd.Value = r.order.Uint64(v[1:])
			default:
				r.verd.Data = v[1:]
			}
			p.Verdict = &r.verd
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("pcapng: %s: %w", name, err)
	}
	p.Comment = strings.Join(comments, "\n")
	r.last = p.Time
	return p, nil
}

// spb reads a Simple Packet Block (section 4.4): interface 0, no
// timestamp (the packet gets the time of the packet before it).
func (r *Reader) spb(b []byte) (*Packet, error) {
	if len(b) < 4 {
		return nil, fmt.Errorf("pcapng: simple packet block of %d bytes, need 16", len(b)+12)
	}
	ifc, err := r.ifaceFor(0)
	if err != nil {
		return nil, err
	}
	origLen := r.order.Uint32(b)
	capLen := uint64(origLen)
	if ifc.snapLen != 0 {
		capLen = min(capLen, uint64(ifc.snapLen))
	}
	capLen = min(capLen, uint64(len(b)-4))
	p := &r.pkt
	*p = Packet{Port: r.portOf(ifc), Time: r.last, Data: b[4 : 4+capLen]}
	r.info = Info{LinkType: ifc.linkType, Interface: ifc.name, IfaceMAC: ifc.mac, IfaceDescription: ifc.desc}
	if uint64(origLen) > capLen {
		p.OrigLen = int(origLen)
	}
	return p, nil
}

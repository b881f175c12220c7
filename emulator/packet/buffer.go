package packet

import "slices"

// Headroom is the space kept free in front of a frame in a Buffer, so that
// encapsulation writes the outer headers in place instead of copying the
// frame (VXLAN over IPv4 needs 50 bytes, over IPv6 70; Tailscale
// net/tstun/wrap.go PacketStartOffset, gopacket SerializeBuffer.PrependBytes).
const Headroom = 128

// MaxFrame is the largest frame a Buffer holds: a 9000-byte jumbo MTU plus
// Ethernet and 802.1Q headers, rounded up.
const MaxFrame = 9216

// Buffer holds one frame with headroom before it. The zero value is not
// usable; get buffers from a Pool or NewBuffer.
type Buffer struct {
	buf        []byte // len(buf) == cap(buf) == Headroom + MaxFrame
	start, end int
}

// NewBuffer returns an empty buffer.
func NewBuffer() *Buffer {
	return &Buffer{buf: make([]byte, Headroom+MaxFrame), start: Headroom, end: Headroom}
}

// Bytes returns the frame. It aliases the buffer.
func (b *Buffer) Bytes() []byte { return b.buf[b.start:b.end] }

// Len returns the frame's length.
func (b *Buffer) Len() int { return b.end - b.start }

// Headroom returns the free space in front of the frame.
func (b *Buffer) Headroom() int { return b.start }

// Set copies frame into the buffer after the standard headroom and reports
// whether it fitted.
func (b *Buffer) Set(frame []byte) bool {
	if len(frame) > MaxFrame {
		return false
	}
	b.start = Headroom
	b.end = Headroom + copy(b.buf[Headroom:], frame)
	return true
}

// SetLen makes the frame n bytes long (new bytes are not cleared) and
// reports whether it fitted.
func (b *Buffer) SetLen(n int) bool {
	if b.start+n > len(b.buf) || n < 0 {
		return false
	}
	b.end = b.start + n
	return true
}

// Push grows the frame by n bytes at the front, into the headroom, and
// returns the new frame; ok is false when the headroom is too small.
func (b *Buffer) Push(n int) (frame []byte, ok bool) {
	if n > b.start {
		return nil, false
	}
	b.start -= n
	return b.buf[b.start:b.end], true
}

// Pull removes n bytes from the front of the frame (decapsulation: a
// reslice, no copy).
func (b *Buffer) Pull(n int) bool {
	if n > b.end-b.start {
		return false
	}
	b.start += n
	return true
}

// Pool is a free list of buffers. It is not safe for concurrent use: each
// worker (shard) has its own.
type Pool struct {
	free []*Buffer
	// Allocated counts buffers the pool has ever created.
	Allocated int
}

// Get returns a buffer, allocating only when the free list is empty.
func (p *Pool) Get() *Buffer {
	if n := len(p.free); n > 0 {
		b := p.free[n-1]
		p.free = p.free[:n-1]
		b.start, b.end = Headroom, Headroom
		return b
	}
	p.Allocated++
	return NewBuffer()
}

// Reserve makes room in the free list for n buffers, so that returning them
// does not grow it.
func (p *Pool) Reserve(n int) { p.free = slices.Grow(p.free, n) }

// Put returns b to the pool.
func (p *Pool) Put(b *Buffer) { p.free = append(p.free, b) }

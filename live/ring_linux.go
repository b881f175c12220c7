package live

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// A TPACKET_V3 receive ring (Documentation/networking/packet_mmap.rst): the
// kernel fills blocks of frames in a memory-mapped area shared with us and
// hands a block over (block_status TP_STATUS_USER) when it is full or after
// ringRetire ms; we hand it back by setting TP_STATUS_KERNEL. A port's reader
// goroutine passes whole blocks to the owner goroutine: the batch.
const (
	ringBlockSize = 1 << 18 // 256 KiB
	ringBlocks    = 32      // 8 MiB per port
	ringFrameSize = 2048    // only checked by the kernel in V3 (frames are packed)
	ringRetire    = 1       // ms before a partly filled block is handed over

	tpStatusKernel = 0
	tpStatusUser   = 1

	// struct tpacket_block_desc: version, offset_to_priv, then tpacket_hdr_v1.
	blockStatusOff = 8
	blockNumOff    = 12
	blockFirstOff  = 16
	// struct tpacket3_hdr.
	pktNextOff    = 0
	pktSnaplenOff = 12
	pktMacOff     = 24
)

// ring is one port's memory-mapped receive ring.
type ring struct {
	mem []byte
}

// setupRing switches fd to TPACKET_V3 and maps its receive ring.
func setupRing(fd int) (*ring, error) {
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_VERSION, unix.TPACKET_V3); err != nil {
		return nil, fmt.Errorf("PACKET_VERSION TPACKET_V3: %w", err)
	}
	req := unix.TpacketReq3{
		Block_size:     ringBlockSize,
		Block_nr:       ringBlocks,
		Frame_size:     ringFrameSize,
		Frame_nr:       ringBlockSize / ringFrameSize * ringBlocks,
		Retire_blk_tov: ringRetire,
	}
	if err := unix.SetsockoptTpacketReq3(fd, unix.SOL_PACKET, unix.PACKET_RX_RING, &req); err != nil {
		return nil, fmt.Errorf("PACKET_RX_RING: %w", err)
	}
	mem, err := unix.Mmap(fd, 0, ringBlockSize*ringBlocks, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_LOCKED|unix.MAP_POPULATE)
	if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.ENOMEM) || errors.Is(err, unix.EPERM) {
		mem, err = unix.Mmap(fd, 0, ringBlockSize*ringBlocks, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	}
	if err != nil {
		return nil, fmt.Errorf("mmap rx ring: %w", err)
	}
	return &ring{mem: mem}, nil
}

func (r *ring) close() {
	if r != nil && r.mem != nil {
		unix.Munmap(r.mem)
		r.mem = nil
	}
}

func (r *ring) block(i int32) []byte {
	off := int(i) * ringBlockSize
	return r.mem[off : off+ringBlockSize : off+ringBlockSize]
}

func (r *ring) status(i int32) *uint32 {
	return (*uint32)(unsafe.Pointer(&r.mem[int(i)*ringBlockSize+blockStatusOff]))
}

// ready reports whether the kernel has handed block i over.
func (r *ring) ready(i int32) bool { return atomic.LoadUint32(r.status(i))&tpStatusUser != 0 }

// release hands block i back to the kernel.
func (r *ring) release(i int32) { atomic.StoreUint32(r.status(i), tpStatusKernel) }

// frames calls fn with every frame of block b (valid until the block is
// released). A malformed block (it is kernel memory, but checked anyway)
// ends the walk.
func frames(b []byte, fn func(frame []byte)) {
	n := binary.NativeEndian.Uint32(b[blockNumOff:])
	off := int(binary.NativeEndian.Uint32(b[blockFirstOff:]))
	for k := uint32(0); k < n; k++ {
		if off <= 0 || off+pktMacOff+2 > len(b) {
			return
		}
		h := b[off:]
		snap := int(binary.NativeEndian.Uint32(h[pktSnaplenOff:]))
		mac := int(binary.NativeEndian.Uint16(h[pktMacOff:]))
		if mac+snap > len(h) {
			return
		}
		fn(h[mac : mac+snap])
		next := int(binary.NativeEndian.Uint32(h[pktNextOff:]))
		if next == 0 {
			return
		}
		off += next
	}
}

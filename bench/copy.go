package bench

// copyProcessor is the reference datapath: it copies each frame into its own buffer,
// what any datapath that receives a frame into a pool buffer does at least, and
// forwards everything. Results are reported as a ratio to it (result.UnitCopyRatio).
type copyProcessor struct {
	buf []byte
}

func newCopyProcessor(maxLen int) *copyProcessor {
	return &copyProcessor{buf: make([]byte, max(maxLen, 1))}
}

// Process copies every frame into the processor's buffer. It does not allocate.
func (c *copyProcessor) Process(frames [][]byte) int {
	for _, f := range frames {
		copy(c.buf, f)
	}
	return len(frames)
}

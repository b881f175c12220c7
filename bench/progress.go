package bench

import (
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"
)

// progress draws a single-line progress bar, redrawn in place with "\r". It writes
// only between timed phases, never during one.
type progress struct {
	w           io.Writer
	total, done int
	lastWidth   int
}

const barWidth = 24

// newProgress returns a progress bar on w for total steps, or nil (which draws nothing)
// when w is nil or an *os.File that is not a terminal (a pipe, a file).
func newProgress(w io.Writer, total int) *progress {
	if w == nil || total <= 0 {
		return nil
	}
	if f, ok := w.(*os.File); ok && !isTerminal(f) {
		return nil
	}
	return &progress{w: w, total: total}
}

// isTerminal reports whether f is a character device, as terminals (and Windows
// consoles) are.
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// step starts the next step and draws "[#####.....] 5/12 label".
func (p *progress) step(label string) {
	if p == nil {
		return
	}
	p.done++
	filled := barWidth * (p.done - 1) / p.total
	const maxLabel = 60
	if utf8.RuneCountInString(label) > maxLabel {
		label = string([]rune(label)[:maxLabel-1]) + "…"
	}
	line := fmt.Sprintf("[%s%s] %d/%d %s", strings.Repeat("#", filled), strings.Repeat(".", barWidth-filled), p.done, p.total, label)
	p.draw(line)
}

func (p *progress) draw(line string) {
	n := utf8.RuneCountInString(line)
	pad := ""
	if p.lastWidth > n {
		pad = strings.Repeat(" ", p.lastWidth-n)
	}
	p.lastWidth = n
	fmt.Fprint(p.w, "\r"+line+pad)
}

// finish erases the bar.
func (p *progress) finish() {
	if p == nil || p.lastWidth == 0 {
		return
	}
	fmt.Fprint(p.w, "\r"+strings.Repeat(" ", p.lastWidth)+"\r")
	p.lastWidth = 0
}

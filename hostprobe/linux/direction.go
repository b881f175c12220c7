package linux

import "fmt"

// Direction says which way a frame crossed an interface, seen from the interface's own
// namespace: In was received by the interface, Out was sent by it. Filter rules use it
// the same way (In matches the input interface, Out the output interface).
type Direction uint8

const (
	// In is a frame received by the interface (sll_pkttype PACKET_HOST, BROADCAST,
	// MULTICAST or OTHERHOST).
	In Direction = iota + 1
	// Out is a frame sent by the interface (sll_pkttype PACKET_OUTGOING).
	Out
)

// String returns "in" or "out".
func (d Direction) String() string {
	switch d {
	case In:
		return "in"
	case Out:
		return "out"
	}
	return fmt.Sprintf("direction(%d)", uint8(d))
}

package hns

import "fmt"

// vfpNetwork programs a network whose policy lives in VFP (transparent,
// l2bridge, l2tunnel, overlay).
func (pr *programmer) vfpNetwork(n *HostComputeNetwork) error {
	return fmt.Errorf("network type %s: not programmed yet", n.Type)
}

package vfpctrl

import (
	"github.com/hnspath/hnspath/emulator/vfp"
)

// distNames are the distributions' names in value order.
var distNames = func() []string {
	var out []string
	for d := vfp.DistributePerConnection; d <= vfp.DistributeSourceIP; d++ {
		out = append(out, d.String())
	}
	return out
}()

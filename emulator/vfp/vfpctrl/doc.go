// Package vfpctrl is the vfpctrl text format of the VFP model: it prints
// a port's layers, groups, rules, unified flows and counters the way
// `vfpctrl /port P /list-rule` (and /list-layer, /list-group,
// /list-unified-flow, /get-rule-counter, /get-port-counter) prints them on
// a Windows host; it reads real hosts' output (a single listing, or a
// collectlogs.ps1 vfpOutput.txt with many ports' dumps, each after its
// port header); and it checks the rules the model programs for a port
// against a host's listing (Check): missing, extra and different rules.
//
// What a real host prints is followed where public output shows it:
// kubernetes/kubernetes#79359 (kube-proxy's SNAT and LB layers), the
// rke2windows README (Calico's ACL_ENDPOINT_LAYER), microsoft/SDN
// VFP.psm1. The model's own explanations (rules a real host would not
// list, a block rule's drop reason, whether a layer is stateful) are
// printed only with Options.Explain, so that default output can be put
// side by side with a host's.
//
// Parsers here read untrusted text: errors name the file, line and field
// (ParseError); pastes that leave lines out are errors for ParseListRule
// and gaps (Listing.Gaps) for ParseListing.
package vfpctrl

// Package modes is the engine of `hnspath modes`: it builds one user's
// workload as each HNS network mode (nat, transparent, l2bridge, l2tunnel,
// overlay), replays the user's traffic through each with the emulator, and
// fills a reports.Modes: per mode and flow what works, what fails and why,
// what the headers look like on the wire, a quick per-packet cost, and the
// mode's documented constraints.
//
// It lives under cmd/hnspath/internal because only the command needs it and
// because it runs the datapath: package reports renders the comparison but
// must not import the emulator (docs/design.md §1), so the types are reports'
// and the driving is here.
//
// # Inputs
//
// A workload (LoadWorkload, YAML) names the parties: endpoints on the host
// being planned with the ports they publish, remote nodes with their
// endpoints, and peers on the internet or the host's LAN. Traffic is a
// capture (LoadCapture) or flows (ParseFlows, FlowsTraffic: "tcp
// laptop:50000 -> web:443 inbound").
//
// # Addresses by role
//
// The traffic's addresses only say who is who. Each party gets the address
// its mode gives it, always the same plan (topology.go): host1 on
// 10.0.0.4/24, remote node k on 10.0.0.4+k, LAN peers from 10.0.0.200,
// internet peers from 198.18.0.10 (RFC 2544's range, behind the underlay
// router); endpoints in 172.16.0.0/16 on nat (Docker's default prefix), in
// the host's subnet on transparent and l2tunnel, in 10.244.1.0/24 (node k:
// 10.244.1+k.0/24) on l2bridge and overlay, with IPv6 where the mode has it.
// Addresses the workload does not name become internet peers (ext1, ...).
// Ports are kept, except that on nat an endpoint is reached from outside its
// host at the host's address and the published port.
//
// The per-mode topologies follow the working ones of emulator/fabric/testdata
// and the public CNI configurations: l2bridge endpoints have OutBoundNAT
// with the cluster, service and node subnets as exceptions (microsoft/SDN
// flannel l2bridge cni.conf), overlay endpoints EncapOverhead 50 and
// OutBoundNAT (windows-container-networking flannel_overlay.conf), overlay
// networks a DR MAC, VSID 4096 and RemoteSubnetRoutes to the other nodes.
//
// # Replay
//
// Packets are replayed in the traffic's order and timing. The first packet
// of a flow goes from its initiator to the responder's address in the mode;
// answers go from where the request arrived to where it came from, as the
// responder saw it (so they follow whatever the mode translated). A flow
// works when every packet reached its receiver's port. A packet that cannot
// leave at all fails before the datapath: an endpoint without an address of
// the family (HNS rejects IPv6 on nat and overlay; its error is quoted), or a
// packet over the endpoint's MTU (1450 on overlay). Senders learn next-hop
// MACs by ARP through the fabric.
//
// The cost is timed afterwards on a fresh fabric without tracing: one round
// of every packet (flows created), then rounds until the time budget is
// spent. It is a quick figure; `hnspath bench` measures properly.
package modes

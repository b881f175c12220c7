// Package windows is the Windows backend of hostprobe: it builds one host of a
// topology on a real Windows host through HNS, sends traffic from the endpoints'
// network compartments, captures it with pktmon, reads the captures back into result
// packets, measures throughput for `hnspath bench --against windows`, and reads the
// host's own VFP rules with vfpctrl so that they can be diffed against the emulator's
// (docs/design.md §4; user documentation in docs/windows-probe.md).
//
// The logic runs on every platform against three interfaces: HCN (the HNS calls),
// Runner (pktmon, vfpctrl and the container runtime) and Sender (sockets in a
// compartment). backend_windows.go holds only their real adapters (hcsshim v0.15.0's
// hcn package, os/exec, SetCurrentThreadCompartmentId); other.go makes them return
// errors.ErrUnsupported elsewhere. The tests drive the logic with a fake HCN that
// answers like HNS and a runner that records command lines.
//
// What a first run on a real host needs, and how the backend handles it:
//   - A Host namespace gets a network compartment only when a container starts in it
//     (hcsshim#1048): Setup starts Options.Container in each namespace, re-reads its
//     NamespaceId and fails loudly while it is 0.
//   - Deletes of objects already gone fail with an *hcn.HcnError that
//     hcn.IsNotFoundError does not recognise: the backend checks the error's code
//     (ERROR_NOT_FOUND, HCN_E_*_NOT_FOUND) and otherwise looks the object up, so that a
//     teardown may run twice and after a remove_endpoint step.
//   - HcnModifyLoadBalancer needs HNS >= 15.4: below, an update deletes and re-creates
//     the load balancer; DSR load balancers need DSR support, checked before any call.
//   - pktmon: the syntax (1809's `start --etw -p 0 -c IDS` or `start --capture --comp
//     IDS`) is detected from `pktmon help`; a capture of ours is stopped before start and
//     on Close; filters are never touched; the capture is converted three times (pcapng,
//     --drop-only pcapng, text) and joined, because pcapng carries neither components
//     nor drops; the text is read by position, its labels being localised.
//   - Setup holds the backend's lock over each HCN call, so a Close from a signal waits
//     for an object being created and deletes it too. Every object is recorded in a
//     session journal (WorkDir/<prefix>journal.txt), which Clean reads: namespaces and
//     load balancers have no name, so a prefix alone cannot find them.
//
// Every HNS object the backend creates is named with a session prefix
// ("hnsp-<6 hex>-"); it deletes only those, newest first, also on SIGINT/SIGTERM.
//
// What is not implemented: injecting arbitrary frames (Windows has no AF_PACKET; UDP
// datagrams and TCP SYNs are sent from sockets, other inputs are reported as not
// injected); inputs at peer, router and NIC ports. Which pktmon counter direction
// means "delivered to a container" (Rx at its vNIC component) is an assumption to
// check on a real host.
package windows

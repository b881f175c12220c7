// Package linux is the low-level toolkit of the Linux hostprobe backend: it builds real
// kernel datapaths inside network namespaces that it creates, injects Ethernet frames into
// them with AF_PACKET sockets, captures what the kernel does with them, and removes
// everything again.
//
// On top of the toolkit sits the Linux backend of hostprobe (docs/design.md §4): [PlanTopology]
// turns an emulator topology into a [Layout] (nat = bridge + masquerade/DNAT, l2bridge =
// ipvlan L2 or, where the kernel lacks ipvlan ([ErrLinkKindUnsupported]), a bridge with
// [MACRewrite] rules, transparent = macvlan bridge, overlay = vxlan with FDB entries, ACL =
// bridge filters, HNS load balancers = nftables NAT ([LoadBalancer]: numgen or jhash over
// the backends, SourceVIP SNAT, DSR, ILB, LocalRoutedVIP, PreserveDIP by firewall-mark
// routing); the port mapping is documented in layout_linux.go), [BuildLayout] builds it
// in a Lab, and [Backend] injects a scenario's frames at the emulator's port names, makes
// its `do:` steps (an endpoint's links go down; a load balancer's rules are replaced,
// while conntrack keeps established connections where they were), and returns
// result packets. [NewBenchProcessor] is the kernel datapath for
// `hnspath bench --against linux`.
//
// # Sessions and names
//
// A [Lab] is one session. It picks a random id and names every network namespace it makes
// "hnsp-<id>-<name>" ([Prefix]), bind-mounted under /run/netns so that `ip netns` lists
// them. Before it makes anything it writes a marker file /run/hnspath/hnsp-<id> holding
// its pid and process start time. Interfaces, bridges, nftables tables and sockets live
// inside the lab's namespaces only; nothing is created in, or changed in, the root
// namespace. [Lab.Close] deletes what the lab recorded in reverse order and treats "not
// found" as success; [Lab.CloseOnSignal] does the same on SIGINT/SIGTERM; [Clean] removes
// the namespaces and markers of earlier sessions whose process is gone (a crash or
// SIGKILL), and skips sessions whose process still runs.
//
// # Threads and namespaces
//
// A network namespace belongs to an OS thread, not to a goroutine. [Namespace.Do] runs a
// function on a fresh goroutine locked to its thread, switched into the namespace, and
// switches back afterwards; if switching back fails the goroutine exits still locked, and
// the Go runtime then terminates that thread instead of reusing it (runtime.LockOSThread).
// No thread is ever returned to the scheduler in the wrong namespace. Netlink, nftables and
// AF_PACKET sockets are opened while in the namespace and stay bound to it after Do
// returns, which is how every other method of [Namespace] works.
//
// # Injection and capture
//
// An [Injector] sends a raw Ethernet frame out of one interface (AF_PACKET, bound by
// ifindex, PACKET_QDISC_BYPASS so the frame does not pass the packet taps and a capture on
// the same interface does not record it). A [Capturer] records every frame in and out of
// a set of interfaces, including what the kernel emits on its own (ARP, ICMP errors, TCP
// resets, IGMP/MLD reports), with kernel timestamps; [Capturer.Drain] returns them in
// timestamp order.
//
// Real kernels are noisy and take shortcuts; for deterministic probes consider, per
// namespace: net.ipv6.conf.{default,all}.disable_ipv6=1 before creating links when IPv6
// is not under test (no MLD/ND/RS), net.ipv4.icmp_ratelimit=0 (ICMP errors are rate
// limited per destination otherwise), and [Namespace.SetOffloads](ifname, false) on
// interfaces whose local sockets send TCP/UDP (otherwise captures show partial checksums,
// flagged by Frame.ChecksumPartial, and GSO super-frames). A bridge sends IGMP reports
// when it comes up.
//
// # Privileges
//
// Everything needs root, or CAP_NET_ADMIN, CAP_SYS_ADMIN (unshare, setns, mount) and
// CAP_NET_RAW (AF_PACKET). [CheckPrivileges] says exactly what is missing; tests skip with
// that message.
package linux

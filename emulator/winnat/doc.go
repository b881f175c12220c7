// Package winnat models WinNAT, the translator behind the default `nat`
// network of a Windows container host (windows-behaviour.md section 2;
// docs/design.md section 3 "nat"): one internal IPv4 prefix, dynamic sessions
// for TCP, UDP and ICMP queries, static port mappings, observed idle
// timeouts, address-dependent filtering, ICMP error translation and
// hairpinning from containers. WinNAT has no IPv6.
//
// # How the host calls it
//
// The host's management OS owns routing, ARP, TTL and MACs; a NAT only
// rewrites IPv4 addresses, ports and ICMP query identifiers, in place, with
// every checksum kept (packet.Parsed setters, RFC 1624):
//
//   - A packet from the internal prefix that the host routes out of an
//     external interface goes to Outbound with that interface's address.
//     Outbound passes packets addressed to one of the NAT's own external
//     addresses on to Hairpin, so the host may call Outbound for every
//     packet it routes from the internal prefix to a non-internal address.
//   - A packet from the internal prefix addressed to one of the external
//     addresses goes to Hairpin (directly or through Outbound). Hairpin
//     handles both directions of a hairpinned flow: the request (container
//     A to external IP:published port) and the reply (container B to the
//     external IP:port that A was translated to). A hairpinned packet is
//     translated as if it left through the external interface and came
//     back in: source to external address:port (the outbound half), then
//     destination through the static mapping or session (the inbound half)
//     (RFC 4787 REQ-9, RFC 5382 REQ-8). The result is a packet from an
//     external address to an internal one: the host delivers it on the
//     internal network. NotHandled means the packet is for the host itself
//     (a service on the host's own address, a ping to it).
//   - A packet that arrives from outside addressed to an external address
//     goes to Inbound. NotHandled means no session or static mapping wants
//     it: the host stack decides (for WinNAT traffic it reports
//     drop.NATNoMapping). Use InboundPort and ShardForPort to pick the
//     shard when the host runs several.
//   - Traffic from the host itself to its own external IP:published port is
//     not NAT traffic: WinNAT has no loopback from the host
//     (windows-behaviour.md section 2.2, limit 4). The host refuses it with
//     drop.NATHostHairpin, asking HasStaticMapping.
//
// Verdict Translated means p was rewritten; Dropped comes with a
// drop.Reason; NotHandled leaves p untouched.
//
// Every entry point returns all it did (Outbound and Inbound also the Ref
// of the session a flow cache may keep) and keeps nothing for a later call
// to read back: no call depends on another having reset anything. A flow
// cache (the host's) keeps its own notes by Ref (Ref.Index, Ref.Serial);
// OutboundSession/TranslateOutbound and InboundSession/TranslateInbound
// let it translate a flow's next packets exactly as Outbound and Inbound
// would.
//
// # Time and expiry
//
// Time is the virtual clock in nanoseconds (packet time). A session is
// alive while now-lastSeen <= timeout: at exactly its timeout it still
// translates, one nanosecond later it is gone (the rule of flow.Table).
// Lookups expire what they touch; Expire reaps a few more per call, oldest
// first, so tables stay bounded without a full scan. Sessions are ordered by
// expiry in a heap (expiry.go): a full port range or session table removes
// every session idle past its timeout before it refuses a new one, so an
// exhaustion is never declared while an expired mapping holds a port.
//
// # Performance and concurrency
//
// A NAT is not safe for concurrent use: one per worker, as per-core flow
// tables are (Config.Shard). Translating a packet of an existing session
// does not allocate (one index lookup with a 16-byte key, see index.go,
// and two checksum deltas precomputed per session, see rewrite.go);
// creating a session may. Stats and Sessions read the NAT's state: call
// them from the owner too (or between batches).
package winnat

// Package pktmon reads what Windows' packet monitor (pktmon) writes: the metadata of a
// packet appearance (PktGroupId, Appearance, Direction, Component, Edge, drops with their
// DropReason), the component list (`pktmon list --json`), and the pcapng files that
// `pktmon etl2pcap` and etl2pcapng write, with each packet's metadata from its comment.
// It is neutral: the Windows probe, replay and the evidence comparison all read with it.
package pktmon

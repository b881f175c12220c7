// Package nodetext reads what a real Windows container node prints about its
// networking, detected by content, into HNS objects and host facts that
// scenarios.Import turns into a topology:
//
//   - HNS objects as JSON (ConvertTo-Json, hcsshim debug logs, kube-proxy
//     logs), in UTF-8 or UTF-16 with a byte-order mark, including what
//     ConvertTo-Json cut at its -Depth (see hns.ImportObjects);
//   - PowerShell's default list view (Format-List) of Get-HnsNetwork,
//     Get-HnsEndpoint and Get-HnsPolicyList, with its wrapped lines,
//     "@{Key=Value; ...}" hashtables, "{a, b}" collections, type names
//     standing for values it did not print ("System.Object[]") and the "..."
//     of $FormatEnumerationLimit;
//   - "hnsdiag list all|networks|endpoints|loadbalancers" tables and the
//     newer record form ("Endpoint : <id>" with indented fields), which give
//     only names and IDs: such objects must be completed by another input;
//   - Get-NetNat and Get-NetNatStaticMapping in list form;
//   - a collectlogs.ps1 bundle (microsoft/SDN Kubernetes/windows/debug):
//     network.txt and endpoint.txt (a table, then JSON), policy.txt,
//     namespaces.txt, ip.txt (ipconfig /all), routes.txt (route print) and
//     mtu.txt (netsh interface ipv4 show interfaces) for the host's NICs.
//
// Lines that start with "# " are skipped with a note: real tools never print
// them, but samples collected from public pastes carry them as annotations.
// PowerShell prompt lines ("PS C:\> Get-HnsNetwork") are skipped the same
// way. Every message names the file and line it is about.
//
// The package uses the standard library only; it reads no files itself (the
// caller reads them, bounded, and hands in the bytes).
package nodetext

#!/usr/bin/env bash
# Installs what the tests use beyond Go: tshark (reads our pcapng output),
# Chromium (renders the HTML report), benchstat (reads our bench output),
# curl, iperf3, python3 and iproute2 (real programs for the live tests).
# Tests that need a missing tool skip with a message, so this script is
# best effort off CI: it installs only as root with apt-get, and never fails
# the build because a package could not be installed.
set -u
need=()
command -v tshark >/dev/null 2>&1 || need+=(tshark)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
# hnspath live's tests run real programs through the model: a client, a server
# and a throughput tool inside the namespaces they create (as root).
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v iperf3 >/dev/null 2>&1 || need+=(iperf3)
command -v python3 >/dev/null 2>&1 || need+=(python3)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    echo "deps: installing ${need[*]} with apt-get (a few minutes on a fresh machine; the tests that read pcapng with tshark and render HTML in Chromium need them)" >&2
    # wireshark-common asks whether non-root users may capture; answer no.
    echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections 2>/dev/null || true
    (apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}") >/dev/null 2>&1 ||
      echo "deps: could not install ${need[*]}; the tests that need them will skip" >&2
  else
    echo "deps: ${need[*]} missing (not root or no apt-get); the tests that need them will skip" >&2
  fi
fi
if ! command -v benchstat >/dev/null 2>&1 && [ ! -x "$(go env GOPATH)/bin/benchstat" ]; then
  echo "deps: installing benchstat (go install golang.org/x/perf/cmd/benchstat)" >&2
  go install golang.org/x/perf/cmd/benchstat@latest >/dev/null 2>&1 ||
    echo "deps: could not install benchstat; the test that runs it will skip" >&2
fi
exit 0

//go:build fleet

package fleet

// bootstrap is the pod's command line: it finds the run's ConfigMap (a
// HostProcess container sees its volumes at their mountPath with
// containerd 1.7 and later, under CONTAINER_SANDBOX_MOUNT_POINT before) and
// runs the run's script from it.
const bootstrap = `$d = $env:HNSPATH_FLEET_MOUNT; ` +
	`$s = Join-Path $env:CONTAINER_SANDBOX_MOUNT_POINT ($d -replace '^[A-Za-z]:', ''); ` +
	`if (-not (Test-Path -LiteralPath (Join-Path $d 'run.ps1')) -and (Test-Path -LiteralPath (Join-Path $s 'run.ps1'))) { $d = $s }; ` +
	`& (Join-Path $d 'run.ps1') -Dir $d; exit $LASTEXITCODE`

// script is run.ps1, the script each pod runs on its node (as SYSTEM, on the
// host). Everything it hands back goes to its standard output, the pod's
// log, as lines that start with "#hnspath-fleet <run> ":
//
//	info os-build 20348.2762      facts about the node
//	info hns-version 15.1
//	begin NAME / base64 lines / end NAME      a file, byte for byte
//	fail WHAT: MESSAGE             a step that failed
//	done CODE                      the last line: the probe's exit code
//
// Lines in between (the probe's own output) are kept as the node's log.
// A log without "done" was cut short (the pod was killed, or the kubelet
// rotated the log away: see docs/fleet.md).
const script = `param([string]$Dir)
$ErrorActionPreference = 'Continue'
$run = $env:HNSPATH_FLEET_RUN
$tag = "#hnspath-fleet $run"
function Say([string]$s) { [Console]::Out.WriteLine("$tag $s") }
function Frame([string]$name, [string]$file) {
  if (-not (Test-Path -LiteralPath $file)) { Say "fail ${name}: not written"; return }
  $b = [Convert]::ToBase64String([IO.File]::ReadAllBytes($file))
  Say "begin $name"
  for ($i = 0; $i -lt $b.Length; $i += 76) { [Console]::Out.WriteLine($b.Substring($i, [Math]::Min(76, $b.Length - $i))) }
  Say "end $name"
}
function Run([string]$file, [scriptblock]$cmd) {
  try { & $cmd 2>&1 | Out-File -Encoding utf8 -LiteralPath $file } catch { Say "fail ${file}: $_" }
}
Say "start $env:HNSPATH_FLEET_NODE"
$cv = Get-ItemProperty 'HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion'
Say "info os-build $($cv.CurrentBuild).$($cv.UBR)"
$hns = ''
try {
  $n = @(Get-HnsNetwork -ErrorAction Stop)[0]
  if ($n.Version) { $v = [uint64]$n.Version; $hns = '{0}.{1}' -f ($v -shr 32), ($v -band 0xffffffff) }
} catch {}
if (-not $hns) {
  try { $hns = 'HostNetSvc.dll ' + (Get-Item "$env:SystemRoot\System32\HostNetSvc.dll" -ErrorAction Stop).VersionInfo.ProductVersion } catch {}
}
Say "info hns-version $hns"
$bin = $env:HNSPATH_FLEET_BINARY
if (-not [IO.Path]::IsPathRooted($bin)) { $bin = Join-Path $env:CONTAINER_SANDBOX_MOUNT_POINT $bin }
if (-not (Test-Path -LiteralPath $bin)) { Say "fail binary: $bin is not in the image"; Say "done 3"; exit 3 }
$out = Join-Path $env:SystemRoot "Temp\hnspath-fleet-$run"
Remove-Item -Recurse -Force -LiteralPath $out -ErrorAction SilentlyContinue
New-Item -ItemType Directory -Force -Path "$out\probe" | Out-Null
$evidence = $env:HNSPATH_FLEET_EVIDENCE -eq '1'
$ev = "$out\evidence"
if ($evidence) {
  New-Item -ItemType Directory -Force -Path $ev | Out-Null
  Run "$ev\networks.json" { Get-HnsNetwork | ConvertTo-Json -Depth 10 }
  Run "$ev\endpoints.json" { Get-HnsEndpoint | ConvertTo-Json -Depth 10 }
  Run "$ev\policylists.json" { Get-HnsPolicyList | ConvertTo-Json -Depth 10 }
  Run "$ev\hnsdiag.txt" { hnsdiag list all }
  Run "$ev\netnat.txt" { Get-NetNat }
  Run "$ev\mappings.txt" { Get-NetNatStaticMapping }
  Run "$ev\vfp.txt" {
    $ports = vfpctrl /list-vmswitch-port | Select-String -Pattern '^\s*Port name\s*:\s*(\S+)' | ForEach-Object { $_.Matches[0].Groups[1].Value }
    foreach ($p in $ports) { "# vfpctrl /port $p /list-rule"; vfpctrl /port $p /list-rule }
  }
  pktmon stop 2>&1 | Out-Null
  pktmon start --capture --comp all --pkt-size 0 --file-name "$ev\trace.etl" 2>&1 | Out-Null
  if ($LASTEXITCODE -ne 0) { Say "fail pktmon start: exit $LASTEXITCODE" }
}
& $bin probe --backend windows --out "$out\probe" (Join-Path $Dir 'scenarios') 2>&1 | ForEach-Object { [Console]::Out.WriteLine("$_") }
$code = $LASTEXITCODE
& $bin probe clean --backend windows 2>&1 | ForEach-Object { [Console]::Out.WriteLine("$_") }
if ($evidence) {
  pktmon stop 2>&1 | Out-Null
  pktmon etl2txt "$ev\trace.etl" --out "$ev\trace.txt" 2>&1 | Out-Null
  if ($LASTEXITCODE -ne 0) { Say "fail pktmon etl2txt: exit $LASTEXITCODE" }
  Run "$ev\components.json" { pktmon list --json }
}
Get-ChildItem -LiteralPath "$out\probe" -File | Sort-Object Name | ForEach-Object { Frame "probe/$($_.Name)" $_.FullName }
if ($evidence) {
  Get-ChildItem -LiteralPath $ev -File | Where-Object { $_.Extension -ne '.etl' } | Sort-Object Name | ForEach-Object { Frame "evidence/$($_.Name)" $_.FullName }
}
Remove-Item -Recurse -Force -LiteralPath $out -ErrorAction SilentlyContinue
Say "done $code"
exit $code
`

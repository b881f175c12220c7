// Package reports turns hnspath's result files into reports: plain text,
// Markdown, JSON, JUnit XML and one self-contained HTML page with inline
// SVG plots (gonum.org/v1/plot).
//
// It reads files, never the datapath (docs/design.md §1, docs/style.md §1: reports
// does not import the emulator):
//
//   - scenario results: JSON Lines of result.Packet, one file per
//     scenario run (NAME.results.jsonl), from the emulator or a hostprobe
//     backend (the backend field);
//   - run summaries: the JSON `hnspath run --json` writes, with pass/fail
//     and the failures' side-by-side diffs and traces;
//   - bench results: hnspath-bench/v1 JSON (bench/result.ReadJSON) and Go
//     benchmark format (benchfmt), plus an optional baseline in either
//     format that decides the regression verdict (bench/result.Compare);
//   - mode comparisons: the hnspath-modes/v1 JSON `hnspath modes --json`
//     writes;
//   - probe directories: results of one scenario from two backends
//     (emulator and linux, or windows) are compared packet by packet.
//
// Load detects each file's kind from its content and builds one Report;
// WriteText, WriteMarkdown, WriteJSON, WriteJUnit and WriteHTML render it.
// The HTML page needs no network and no JavaScript: styles and plots are
// inline, sections have ids (#scenarios, #bench, #probe, #modes), tables
// have class names and every plot is an <svg> with a <title>.
package reports

"""The report's style sheet and script, inlined in every page: the file needs no network."""

CSS = """
:root {
  --bg: #f6f7f9; --card: #ffffff; --ink: #1d2330; --soft: #5b6475; --line: #e3e6eb;
  --ok: #2f9e5f; --bad: #d64545; --warn: #e08a2e; --live: #3b7be0; --muted: #9aa3b2;
  --child: #139a9a; --timer: #8a7ddb; --model: #7c3aed; --tool: #b7791f; --comp: #c2410c;
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink);
  font: 14px/1.45 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
code, pre, .wfid { font-family: "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", monospace; font-size: 12.5px; }
header.page { background: #1f2937; color: #f9fafb; padding: 18px 28px 14px; }
header.page h1 { margin: 0 0 4px; font-size: 20px; font-weight: 600; letter-spacing: .2px; }
header.page .meta { color: #cbd5e1; font-size: 12.5px; }
.summary { display: flex; flex-wrap: wrap; gap: 10px; margin-top: 12px; }
.stat { background: rgba(255,255,255,.08); border-radius: 8px; padding: 6px 12px; min-width: 92px; }
.stat b { display: block; font-size: 18px; }
.stat.passed b { color: #6ee7a8; } .stat.failed b { color: #fca5a5; } .stat.skipped b { color: #fcd34d; }
main { padding: 18px 28px 40px; max-width: 1500px; }
.toolbar { display: flex; gap: 8px; align-items: center; margin-bottom: 14px; flex-wrap: wrap; }
.toolbar button { border: 1px solid var(--line); background: var(--card); border-radius: 6px; padding: 5px 11px;
  font: inherit; cursor: pointer; color: var(--ink); }
.toolbar button.on { background: #1f2937; color: #fff; border-color: #1f2937; }
.toolbar .count { color: var(--soft); margin-left: 6px; }
.legend { display: flex; gap: 14px; flex-wrap: wrap; color: var(--soft); font-size: 12.5px; margin: 0 0 14px; }
.legend i { display: inline-block; width: 14px; height: 10px; border-radius: 3px; margin-right: 5px; vertical-align: -1px; }
details.test { background: var(--card); border: 1px solid var(--line); border-radius: 10px; margin-bottom: 12px;
  box-shadow: 0 1px 2px rgba(16,24,40,.04); }
details.test > summary { cursor: pointer; padding: 11px 16px; display: flex; gap: 10px; align-items: center;
  list-style: none; }
details.test > summary::-webkit-details-marker { display: none; }
details.test > summary::before { content: "▸"; color: var(--soft); width: 10px; }
details.test[open] > summary::before { content: "▾"; }
details.test > summary .nodeid { font-weight: 600; word-break: break-all; }
details.test > summary .right { margin-left: auto; color: var(--soft); font-size: 12.5px; white-space: nowrap; }
.test-body { padding: 0 16px 14px; }
.outcome { font-size: 11.5px; font-weight: 700; text-transform: uppercase; border-radius: 5px; padding: 2px 7px; color: #fff; }
.outcome.passed { background: var(--ok); } .outcome.failed, .outcome.error { background: var(--bad); }
.outcome.skipped, .outcome.xfailed, .outcome.xpassed { background: var(--warn); }
.outcome.running { background: var(--live); }
pre.longrepr { background: #fff5f5; border: 1px solid #f7caca; color: #7f1d1d; border-radius: 8px; padding: 10px 12px;
  max-height: 260px; overflow: auto; white-space: pre-wrap; }
section.workflow { border-top: 1px solid var(--line); padding-top: 12px; margin-top: 12px; }
section.workflow.child { margin-left: 22px; border-left: 3px solid #d6f0f0; padding-left: 12px; }
.wf-head h3 { margin: 0; font-size: 15px; display: flex; gap: 8px; align-items: center; flex-wrap: wrap; }
.wf-type { font-weight: 700; }
.wf-sub { color: var(--soft); font-size: 12.5px; margin-top: 2px; }
.wf-failure { margin: 8px 0 0; color: #8b1c1c; background: #fff5f5; border-left: 3px solid var(--bad);
  padding: 6px 10px; border-radius: 4px; font-size: 13px; word-break: break-word; }
.badge { font-size: 11.5px; border-radius: 999px; padding: 1px 9px; font-weight: 600; border: 1px solid transparent; }
.badge.ok { background: #e5f6ec; color: #1f7a47; } .badge.bad { background: #fde8e8; color: #b42323; }
.badge.live { background: #e6effd; color: #2456a6; } .badge.muted { background: #eef0f3; color: #5b6475; }
.badge.verdict-ok { background: #fff; border-color: #9fd8b8; color: #1f7a47; }
.badge.verdict-failed { background: #b42323; color: #fff; }
.badge.verdict-off, .badge.verdict-none { background: #fff; border-color: var(--line); color: var(--soft); }
.chart { margin-top: 10px; }
.row { display: grid; grid-template-columns: 300px 1fr; align-items: center; min-height: 30px; }
.row.call { border-top: 1px dashed #eef0f3; }
.row .label { padding: 4px 12px 4px 0; display: flex; flex-direction: column; gap: 2px; overflow: hidden; }
.row .label .name { font-weight: 600; font-size: 13px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.tags { display: flex; gap: 4px; flex-wrap: wrap; }
.tag { font-size: 10.5px; border-radius: 4px; padding: 0 5px; line-height: 16px; background: #eef0f3; color: var(--soft); }
.tag.model { background: #efe7fe; color: var(--model); font-weight: 600; }
.tag.tool { background: #fdf3dc; color: #8a5a12; font-weight: 600; }
.tag.mock { background: #e0f2fe; color: #0b6aa2; font-weight: 600; }
.tag.comp { background: #ffedd5; color: var(--comp); font-weight: 600; }
.tag.fault { background: #fde8e8; color: #b42323; font-weight: 600; }
.track { position: relative; height: 24px; background: repeating-linear-gradient(90deg, transparent 0 calc(20% - 1px), #f0f2f5 calc(20% - 1px) 20%); border-radius: 4px; }
.row.axis .track { background: none; height: 20px; border-bottom: 1px solid var(--line); }
.row.axis .label { color: var(--soft); font-size: 11.5px; }
.tick { position: absolute; bottom: 2px; transform: translateX(-50%); color: var(--soft); font-size: 11px; white-space: nowrap; }
.tick.first { transform: none; }
.tick.last { transform: translateX(-100%); }
.cut { position: absolute; top: 0; bottom: 0; text-align: center; font-size: 11px; color: #6b5fc7;
  background: repeating-linear-gradient(135deg, #f1efff 0 4px, #fff 4px 8px); border-radius: 3px; overflow: hidden; white-space: nowrap; }
.bar { position: absolute; top: 4px; height: 16px; border-radius: 4px; font-size: 10.5px; color: #fff; text-align: center;
  line-height: 16px; overflow: hidden; min-width: 4px; box-shadow: inset 0 -1px 0 rgba(0,0,0,.12); }
.bar.ok { background: var(--ok); } .bar.bad { background: var(--bad); } .bar.live { background: var(--live); }
.bar.muted { background: var(--muted); }
.bar.attempt + .bar.attempt { border-left: 2px solid #fff; }
.bar.child.ok { background: var(--child); }
.bar.timer { background: repeating-linear-gradient(135deg, var(--timer) 0 6px, #a79cf0 6px 12px); }
.bar.local-activity.ok { background: #4f9a78; }
.row[data-role="model"] .bar.ok { background: var(--model); }
.row[data-role="tool"] .bar.ok { background: var(--tool); }
.reasons { grid-column: 2; list-style: none; margin: 0 0 4px; padding: 0; font-size: 12px; }
.reason { color: #9b1c1c; padding-left: 14px; position: relative; word-break: break-word; }
.reason::before { content: "✗"; position: absolute; left: 0; }
.reason .injected { color: #7a4b00; background: #fff4d6; border-radius: 3px; padding: 0 4px; margin-left: 4px; }
.row.marks .track { height: 34px; background: #fafbfc; }
.mark { position: absolute; top: 6px; width: 0; }
.mark::before { content: ""; position: absolute; left: -6px; top: 0; width: 11px; height: 11px; transform: rotate(45deg);
  background: var(--live); border: 1px solid #fff; }
.mark.update::before { background: var(--warn); } .mark.marker::before { background: var(--muted); }
.mark-label { position: absolute; top: 13px; left: -4px; font-size: 10.5px; color: var(--soft); white-space: nowrap; }
.note, .empty { color: var(--soft); font-size: 12.5px; font-style: italic; margin: 6px 0 0; }
footer { color: var(--soft); font-size: 12px; padding: 0 28px 24px; }
.hidden { display: none !important; }
"""

JS = """
(function () {
  document.documentElement.classList.add("js");
  var tests = Array.prototype.slice.call(document.querySelectorAll("details.test"));
  var count = document.getElementById("shown-count");
  function show(filter) {
    var shown = 0;
    tests.forEach(function (t) {
      var o = t.getAttribute("data-outcome");
      var keep = filter === "all" || (filter === "failed" ? (o === "failed" || o === "error") : o === filter);
      t.classList.toggle("hidden", !keep);
      if (keep) { shown += 1; }
    });
    var unit = document.body.getAttribute("data-unit") || "tests";
    if (count) { count.textContent = shown + " of " + tests.length + " " + unit + " shown"; }
    Array.prototype.forEach.call(document.querySelectorAll("[data-filter]"), function (b) {
      b.classList.toggle("on", b.getAttribute("data-filter") === filter);
    });
  }
  Array.prototype.forEach.call(document.querySelectorAll("[data-filter]"), function (b) {
    b.addEventListener("click", function () { show(b.getAttribute("data-filter")); });
  });
  Array.prototype.forEach.call(document.querySelectorAll("[data-open]"), function (b) {
    b.addEventListener("click", function () {
      var open = b.getAttribute("data-open") === "all";
      tests.forEach(function (t) { t.open = open; });
    });
  });
  show("all");
  document.body.setAttribute("data-ready", "yes");
})();
"""

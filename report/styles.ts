// The report's stylesheet, inlined in the page: system fonts, a quiet palette, one colour per verdict.
export const REPORT_CSS = `
:root {
  --ink: #0f172a; --ink-2: #334155; --muted: #64748b; --line: #e2e8f0; --paper: #ffffff; --wash: #f8fafc;
  --good: #15803d; --good-bg: #f0fdf4; --good-line: #bbf7d0;
  --bad: #b91c1c; --bad-bg: #fef2f2; --bad-line: #fecaca;
  --warn: #b45309; --warn-bg: #fffbeb; --warn-line: #fde68a;
  --info: #1d4ed8; --info-bg: #eff6ff; --info-line: #bfdbfe;
  --neutral: #334155; --neutral-bg: #f8fafc; --neutral-line: #e2e8f0;
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body {
  margin: 0; background: var(--wash); color: var(--ink);
  font: 15px/1.55 Inter, "Segoe UI", system-ui, -apple-system, Roboto, "Helvetica Neue", Arial, sans-serif;
  font-feature-settings: "tnum" 1;
}
main { max-width: 1080px; margin: 0 auto; padding: 32px 28px 64px; }
header.top { margin-bottom: 20px; }
.kicker { text-transform: uppercase; letter-spacing: .08em; font-size: 12px; font-weight: 600; color: var(--muted); }
h1 { font-size: 28px; line-height: 1.2; margin: 4px 0 6px; letter-spacing: -.01em; word-break: break-all; }
h2 { font-size: 20px; margin: 0 0 6px; letter-spacing: -.005em; }
h3 { font-size: 14px; margin: 22px 0 8px; color: var(--ink-2); text-transform: uppercase; letter-spacing: .05em; }
p { margin: 0 0 10px; }
code { font: 12.5px/1.4 ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; background: #f1f5f9; padding: 1px 5px; border-radius: 4px; word-break: break-all; }
.meta { color: var(--muted); font-size: 13.5px; display: flex; flex-wrap: wrap; gap: 4px 18px; }
.meta b { color: var(--ink-2); font-weight: 600; }
nav.toc { display: flex; flex-wrap: wrap; gap: 6px; margin: 18px 0 24px; }
nav.toc a { font-size: 13px; color: var(--ink-2); text-decoration: none; padding: 4px 10px; border: 1px solid var(--line); border-radius: 999px; background: var(--paper); }
nav.toc a:hover { border-color: #94a3b8; }
section { background: var(--paper); border: 1px solid var(--line); border-radius: 14px; padding: 24px 26px; margin: 0 0 18px; }
section > h2 + .lead, .lead { color: var(--ink-2); max-width: 78ch; }
.muted { color: var(--muted); }
.small { font-size: 12.5px; }
.red { color: var(--bad); font-weight: 600; }

.verdict { display: flex; gap: 18px; align-items: flex-start; border-radius: 16px; padding: 22px 24px; margin: 0 0 14px; border: 1px solid; }
.verdict-icon { flex: none; width: 46px; height: 46px; border-radius: 50%; display: grid; place-items: center; font-size: 24px; font-weight: 700; color: #fff; }
.verdict-title { font-size: 24px; font-weight: 700; line-height: 1.25; margin: 2px 0 6px; letter-spacing: -.01em; }
.verdict-reason { font-size: 15.5px; color: var(--ink-2); margin: 0; max-width: 90ch; }
.verdict.tone-good { background: var(--good-bg); border-color: var(--good-line); } .verdict.tone-good .verdict-icon { background: var(--good); } .verdict.tone-good .verdict-title { color: var(--good); }
.verdict.tone-bad { background: var(--bad-bg); border-color: var(--bad-line); } .verdict.tone-bad .verdict-icon { background: var(--bad); } .verdict.tone-bad .verdict-title { color: var(--bad); }
.verdict.tone-warn { background: var(--warn-bg); border-color: var(--warn-line); } .verdict.tone-warn .verdict-icon { background: var(--warn); } .verdict.tone-warn .verdict-title { color: var(--warn); }
.verdict.tone-neutral { background: var(--info-bg); border-color: var(--info-line); } .verdict.tone-neutral .verdict-icon { background: var(--info); } .verdict.tone-neutral .verdict-title { color: var(--info); }

.tiles { display: grid; grid-template-columns: repeat(auto-fit, minmax(170px, 1fr)); gap: 12px; margin: 0 0 18px; }
.tile { background: var(--paper); border: 1px solid var(--line); border-radius: 12px; padding: 12px 14px 11px; border-top-width: 3px; }
.tile-label { font-size: 12px; color: var(--muted); font-weight: 600; text-transform: uppercase; letter-spacing: .04em; }
.tile-value { font-size: 26px; font-weight: 700; letter-spacing: -.01em; margin: 2px 0 0; }
.tile-note { font-size: 12.5px; color: var(--muted); }
.tile.tone-good { border-top-color: var(--good); } .tile.tone-good .tile-value { color: var(--good); }
.tile.tone-bad { border-top-color: var(--bad); } .tile.tone-bad .tile-value { color: var(--bad); }
.tile.tone-warn { border-top-color: var(--warn); } .tile.tone-warn .tile-value { color: var(--warn); }
.tile.tone-neutral { border-top-color: #cbd5e1; }

.badge { display: inline-block; font-size: 11.5px; font-weight: 600; padding: 1px 8px; border-radius: 999px; border: 1px solid; white-space: nowrap; }
.badge.tone-good { color: var(--good); background: var(--good-bg); border-color: var(--good-line); }
.badge.tone-bad { color: var(--bad); background: var(--bad-bg); border-color: var(--bad-line); }
.badge.tone-warn { color: var(--warn); background: var(--warn-bg); border-color: var(--warn-line); }
.badge.tone-info { color: var(--info); background: var(--info-bg); border-color: var(--info-line); }
.badge.tone-neutral { color: var(--neutral); background: var(--neutral-bg); border-color: var(--neutral-line); }
.note { padding: 10px 14px; border-radius: 10px; border: 1px solid; margin: 8px 0 14px; }
.note.tone-good { color: var(--good); background: var(--good-bg); border-color: var(--good-line); }
.note.tone-bad { color: var(--bad); background: var(--bad-bg); border-color: var(--bad-line); }
.note.tone-warn { color: var(--warn); background: var(--warn-bg); border-color: var(--warn-line); }
.note.tone-neutral { color: var(--ink-2); background: var(--neutral-bg); border-color: var(--neutral-line); }

.trail { list-style: none; margin: 6px 0 0; padding: 0; }
.trail-item { display: grid; grid-template-columns: 64px 18px 1fr; gap: 0 10px; position: relative; padding-bottom: 14px; }
.trail-item::before { content: ""; position: absolute; left: 82px; top: 16px; bottom: -2px; width: 2px; background: var(--line); }
.trail-item:last-child::before { display: none; }
.trail-when { font-size: 12.5px; color: var(--muted); text-align: right; padding-top: 2px; white-space: nowrap; }
.trail-dot { width: 12px; height: 12px; border-radius: 50%; background: #cbd5e1; margin: 5px 0 0 3px; position: relative; z-index: 1; box-shadow: 0 0 0 3px var(--paper); }
.kind-start .trail-dot { background: var(--info); }
.kind-retrigger .trail-dot, .kind-failure .trail-dot { background: var(--warn); }
.kind-manual .trail-dot { background: #7c3aed; }
.kind-register .trail-dot { background: var(--good); }
.kind-outcome .trail-dot { width: 14px; height: 14px; margin-left: 2px; background: var(--ink); }
.trail-meta { font-size: 12.5px; }
.trail-step { font-weight: 600; color: var(--ink-2); margin-left: 2px; }
.trail-decision { font-size: 14px; color: var(--ink); margin-top: 1px; }
.kind-outcome .trail-decision { font-weight: 600; }

table { border-collapse: collapse; width: 100%; font-size: 13.5px; }
th { text-align: left; font-size: 11.5px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); font-weight: 600; border-bottom: 1px solid var(--line); padding: 6px 10px 6px 0; }
td { border-bottom: 1px solid #f1f5f9; padding: 7px 10px 7px 0; vertical-align: top; }
th.num, td.num { text-align: right; font-variant-numeric: tabular-nums; } td.num { white-space: nowrap; }
table.compact td { padding: 5px 10px 5px 0; }
.swatch { display: inline-block; width: 9px; height: 9px; border-radius: 2px; margin-right: 7px; vertical-align: 1px; }
.bar { display: inline-block; width: 70px; height: 6px; background: #f1f5f9; border-radius: 3px; vertical-align: 2px; margin-left: 6px; overflow: hidden; }
.bar > span { display: block; height: 100%; border-radius: 3px; }
details { margin: 14px 0 0; }
summary { cursor: pointer; font-size: 13.5px; font-weight: 600; color: var(--ink-2); margin-bottom: 8px; }
dl.params { display: flex; flex-wrap: wrap; gap: 8px; margin: 8px 0 14px; }
dl.params > div { border: 1px solid var(--line); border-radius: 10px; padding: 6px 12px; background: var(--wash); }
dl.params dt { font-size: 11px; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; }
dl.params dd { margin: 0; font-weight: 600; }
dl.facts { margin: 0; }
dl.facts > div { display: grid; grid-template-columns: 130px 1fr; gap: 10px; padding: 4px 0; border-bottom: 1px solid #f1f5f9; font-size: 13.5px; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; }
ul.plain, ul.limits { margin: 4px 0 10px; padding-left: 20px; }
ul.limits li { margin: 3px 0; }

figure.chart { margin: 6px 0 8px; overflow-x: auto; }
figure.chart svg { max-width: 100%; height: auto; display: block; }
figure.chart figcaption { font-size: 12.5px; color: var(--muted); margin-top: 4px; max-width: 80ch; }
figure.chart p.chart-error { color: #b45309; background: #fffbeb; border: 1px solid #fde68a; border-radius: 6px; padding: 8px 12px; }
.two-col { display: grid; grid-template-columns: 1fr 1fr; gap: 28px; align-items: start; }
.two-col.wide-left { grid-template-columns: 3fr 2fr; }
.grid-2 { display: grid; grid-template-columns: 1fr 1fr; gap: 8px 28px; }
.card-grid { display: grid; grid-template-columns: 1fr 1fr; gap: 4px 28px; }
.card-grid h3 { margin-top: 8px; }
footer { color: var(--muted); font-size: 12.5px; margin-top: 28px; }
footer ul { margin: 4px 0; padding-left: 18px; }
@media (max-width: 820px) {
  .two-col, .two-col.wide-left, .grid-2, .card-grid { grid-template-columns: 1fr; }
  main { padding: 20px 14px 40px; }
}
@media print {
  body { background: #fff; }
  section { break-inside: avoid; border: none; padding: 8px 0; }
  nav.toc { display: none; }
}
`;

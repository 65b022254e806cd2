// Compare (/compare?a=&b=): two runs side by side, nodes aligned by name and position, differences highlighted.
import { html, useEffect, useState } from "/static/vendor/htm-preact.module.js";
import { fmtCents, fmtDuration, fmtTokens, statusClass, useKeyEpoch, navigate } from "/static/api.js";
import { fetchRun } from "/static/page-run.js";

/** Each node's key: its path of names, each with its position among same-named siblings. */
function keyed(nodes) {
  const stack = [];
  const counts = new Map();
  const out = [];
  for (const n of nodes) {
    stack.length = n.depth - 1;
    const parentKey = stack.length ? stack[stack.length - 1] : "";
    const base = parentKey + "/" + n.id;
    const i = counts.get(base) || 0;
    counts.set(base, i + 1);
    const key = base + "#" + i;
    stack.push(key);
    out.push([key, n]);
  }
  return out;
}

/** Rows of [key, nodeA, nodeB], in a's order, b's unmatched nodes after their matched predecessor. */
export function align(a, b) {
  const ka = keyed(a), kb = keyed(b);
  const inB = new Map(kb);
  const inA = new Set(ka.map(([k]) => k));
  const rows = ka.map(([k, n]) => [k, n, inB.get(k) || null]);
  let at = -1;
  for (const [k, n] of kb) {
    if (inA.has(k)) at = rows.findIndex((r) => r[0] === k);
    else rows.splice(++at, 0, [k, null, n]);
  }
  return rows;
}

const differs = (x, y, rel = 0.2) => x != null && y != null && Math.abs(x - y) > rel * Math.max(Math.abs(x), Math.abs(y), 1e-9);

function Pair({ a, b, fmt, rel, lowerIsBetter = true }) {
  const diff = a != null && b != null && differs(a, b, rel);
  const cls = !diff ? "" : (b > a) === lowerIsBetter ? "bad" : "good";
  return html`<td class=${"num" + (diff ? " diff" : "")}>${a == null ? "" : fmt(a)}</td><td class=${"num" + (diff ? " diff" : "")}><span class=${cls}>${b == null ? "" : fmt(b)}</span></td>`;
}

function Picker({ a, b }) {
  const submit = (e) => {
    e.preventDefault();
    const f = new FormData(e.target);
    navigate(`/compare?a=${encodeURIComponent(String(f.get("a")).trim())}&b=${encodeURIComponent(String(f.get("b")).trim())}`);
  };
  return html`<form class="filters card" onSubmit=${submit}>
    <input name="a" placeholder="run id A" value=${a || ""} size="34" aria-label="run A" class="mono" />
    <input name="b" placeholder="run id B" value=${b || ""} size="34" aria-label="run B" class="mono" />
    <button>Compare</button><span class="muted">or pick two runs on the <a href="/">runs page</a></span>
  </form>`;
}

export default function ComparePage({ query }) {
  const epoch = useKeyEpoch();
  const a = query.get("a"), b = query.get("b");
  const [runs, setRuns] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    setRuns(null);
    setError(null);
    if (a && b) Promise.all([fetchRun(a), fetchRun(b)]).then(setRuns, (e) => setError(e.message));
  }, [a, b, epoch]);
  if (!a || !b) return html`<${Picker} a=${a} b=${b} />`;
  if (error) return html`<${Picker} a=${a} b=${b} /><p class="error" role="alert">${error}</p>`;
  if (!runs) return html`<${Picker} a=${a} b=${b} /><p class="muted">loading…</p>`;
  const [A, B] = runs;
  const sa = A.logs.summary, sb = B.logs.summary;
  const rows = align(A.nodes, B.nodes);
  const head = (r) => html`<a href=${"/runs/" + r.logs.run_id} data-run-id=${r.logs.run_id}>${r.logs.agent_id} ${r.logs.run_id.slice(0, 8)}</a> <span class=${"badge " + r.logs.status}>${r.logs.status}</span>`;
  return html`<${Picker} a=${a} b=${b} />
    <section class="card cmp">
      <table id="compare-totals"><thead><tr><th></th><th class="num">A: ${head(A)}</th><th class="num">B: ${head(B)}</th></tr></thead><tbody>
        <tr><td>status</td><td class=${"num" + (A.logs.status !== B.logs.status ? " diff" : "")}>${A.logs.status}</td><td class=${"num" + (A.logs.status !== B.logs.status ? " diff" : "")}>${B.logs.status}</td></tr>
        <tr><td>nodes</td><${Pair} a=${sa.total_nodes} b=${sb.total_nodes} fmt=${String} rel=${0} /></tr>
        <tr><td>failed nodes</td><${Pair} a=${sa.failed_nodes} b=${sb.failed_nodes} fmt=${String} rel=${0} /></tr>
        <tr><td>duration</td><${Pair} a=${sa.duration_ms} b=${sb.duration_ms} fmt=${fmtDuration} /></tr>
        <tr><td>tokens</td><${Pair} a=${sa.tokens.total} b=${sb.tokens.total} fmt=${fmtTokens} /></tr>
        <tr><td>cost</td><${Pair} a=${sa.cost_cents} b=${sb.cost_cents} fmt=${fmtCents} /></tr>
      </tbody></table>
    </section>
    <section class="card cmp"><div class="table-wrap"><table id="compare-nodes">
      <thead><tr><th>node</th><th>A status</th><th>B status</th><th class="num">A duration</th><th class="num">B duration</th><th class="num">A tokens</th><th class="num">B tokens</th><th class="num">A cost</th><th class="num">B cost</th></tr></thead>
      <tbody>${rows.map(([k, x, y]) => {
        const n = x || y;
        const sx = x && statusClass(x.status), sy = y && statusClass(y.status);
        const statusDiff = x && y && sx !== sy;
        return html`<tr data-key=${k} class=${!x || !y ? "only" : ""}>
          <td style=${`padding-left:${6 + (n.depth - 1) * 14}px`}>${n.id} <span class="muted">${n.type}</span></td>
          <td class=${!x ? "missing" : statusDiff ? "diff" : ""}>${x ? html`<span class=${"badge " + sx} data-span-id=${x.span_id}>${sx}</span>` : "absent"}</td>
          <td class=${!y ? "missing" : statusDiff ? "diff" : ""}>${y ? html`<span class=${"badge " + sy} data-span-id=${y.span_id}>${sy}</span>` : "absent"}</td>
          <${Pair} a=${x && x.duration_ms} b=${y && y.duration_ms} fmt=${fmtDuration} />
          <${Pair} a=${x && x.tokens.total} b=${y && y.tokens.total} fmt=${fmtTokens} />
          <${Pair} a=${x && x.cost && x.cost.cents} b=${y && y.cost && y.cost.cents} fmt=${fmtCents} />
        </tr>`;
      })}</tbody></table></div></section>`;
}

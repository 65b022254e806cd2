// A run (/runs/{run_id}): totals, errors and final output; a virtualised waterfall of its spans; a span's detail.
import { html, useEffect, useMemo, useRef, useState } from "/static/vendor/htm-preact.module.js";
import {
  LOGS_PAGE as PAGE, fmtCents, fmtDuration, fmtTime, fmtTokens, get, statusClass, useKeyEpoch, useLive,
  navigate,
} from "/static/api.js";
import { Conversation, Json, conversation } from "/static/messages.js";

const ROW = 24;
const OVERSCAN = 12;

/** Every page of a run's outline (2,000 nodes a page; each node without its input, output, attributes and
 * events, which the detail asks for): {logs, nodes}. */
export async function fetchRun(runId) {
  const first = await get("/api/v1/agents/logs", { run_id: runId, limit: PAGE, outline: "true" });
  const nodes = [...first.body.nodes];
  let cursor = first.body.next_cursor;
  let last = first.body;
  while (cursor) {
    const page = await get("/api/v1/agents/logs", { run_id: runId, limit: PAGE, outline: "true", cursor });
    nodes.push(...page.body.nodes);
    cursor = page.body.next_cursor;
    last = page.body;
  }
  return { logs: { ...first.body, errors: last.errors, final_output: last.final_output ?? first.body.final_output }, nodes };
}

const ms = (iso) => (iso ? Date.parse(iso) : NaN);

function Totals({ logs }) {
  const s = logs.summary, run = logs.run || {};
  return html`<div class="totals">
    <span><b>${s.total_nodes}</b> nodes</span>
    <span><b>${s.successful_nodes}</b> ok</span>
    <span class=${s.failed_nodes ? "error" : ""}><b>${s.failed_nodes}</b> failed</span>
    ${s.running_nodes ? html`<span class="mark running"><b>${s.running_nodes}</b> running</span>` : ""}
    <span>duration <b>${s.duration_ms == null ? "running" : fmtDuration(s.duration_ms)}</b></span>
    <span title=${JSON.stringify(s.tokens)}>tokens <b>${fmtTokens(s.tokens.total)}</b> (${fmtTokens(s.tokens.input)} in, ${fmtTokens(s.tokens.output)} out)</span>
    <span>cost <b>${fmtCents(s.cost_cents)}</b></span>
    ${run.started_at && html`<span>started <b>${fmtTime(run.started_at)}</b></span>`}
    ${run.user_id && html`<span>user <b>${run.user_id}</b></span>`}
    ${run.session_id && html`<span>session <a href=${"/sessions/" + encodeURIComponent(run.session_id)}>${run.session_id}</a></span>`}
    ${run.models && run.models.length ? html`<span>models <b>${run.models.join(", ")}</b></span>` : ""}
  </div>`;
}

/** The visible rows: tree order, without the descendants of collapsed nodes. */
function visibleRows(nodes, collapsed) {
  const out = [];
  let hideBelow = Infinity;
  for (let i = 0; i < nodes.length; i++) {
    const n = nodes[i];
    if (n.depth > hideBelow) continue;
    hideBelow = collapsed.has(n.span_id) ? n.depth : Infinity;
    out.push(i);
  }
  return out;
}

function Axis({ span }) {
  const ticks = [];
  for (let i = 0; i <= 4; i++) ticks.push(html`<span style=${`left:${i * 25}%`}>${fmtDuration((span * i) / 4)}</span>`);
  return html`<div class="axis">${ticks}</div>`;
}

function Waterfall({ nodes, selected, onSelect, t0, span, now }) {
  const [collapsed, setCollapsed] = useState(() => new Set());
  const [scroll, setScroll] = useState(0);
  const [height, setHeight] = useState(600);
  const body = useRef(null);
  const hasChildren = useMemo(() => {
    const set = new Set();
    for (let i = 0; i + 1 < nodes.length; i++) if (nodes[i + 1].depth > nodes[i].depth) set.add(nodes[i].span_id);
    return set;
  }, [nodes]);
  const rows = useMemo(() => visibleRows(nodes, collapsed), [nodes, collapsed]);
  useEffect(() => {
    const el = body.current;
    const resize = () => setHeight(Math.min(rows.length * ROW + 4, Math.max(240, window.innerHeight - el.getBoundingClientRect().top - 20)));
    resize();
    window.addEventListener("resize", resize);
    return () => window.removeEventListener("resize", resize);
  }, [rows.length]);
  const first = Math.max(0, Math.floor(scroll / ROW) - OVERSCAN);
  const last = Math.min(rows.length, Math.ceil((scroll + height) / ROW) + OVERSCAN);
  const toggle = (spanId, event) => {
    event.stopPropagation();
    setCollapsed((old) => {
      const next = new Set(old);
      next.has(spanId) ? next.delete(spanId) : next.add(spanId);
      return next;
    });
  };
  const key = (event) => {
    const at = rows.findIndex((i) => nodes[i].span_id === selected);
    let to = null;
    if (event.key === "ArrowDown") to = Math.min(rows.length - 1, at + 1);
    else if (event.key === "ArrowUp") to = Math.max(0, at - 1);
    else if ((event.key === "ArrowLeft" || event.key === "ArrowRight") && at >= 0) {
      const id = nodes[rows[at]].span_id;
      if (hasChildren.has(id) && (event.key === "ArrowLeft") !== collapsed.has(id)) toggle(id, event);
      event.preventDefault();
      return;
    }
    if (to === null || to < 0) return;
    event.preventDefault();
    onSelect(nodes[rows[to]].span_id);
    const el = body.current;
    if (to * ROW < el.scrollTop) el.scrollTop = to * ROW;
    else if ((to + 1) * ROW > el.scrollTop + el.clientHeight) el.scrollTop = (to + 1) * ROW - el.clientHeight;
  };
  const bars = [];
  for (let r = first; r < last; r++) {
    const n = nodes[rows[r]];
    const start = ms(n.started_at) - t0;
    const running = n.status === "running";
    const end = running ? now - t0 : n.ended_at ? ms(n.ended_at) - t0 : start;
    const left = span > 0 ? Math.max(0, (start / span) * 100) : 0;
    const width = span > 0 ? Math.max(0, Math.min(100 - left, ((end - start) / span) * 100)) : 0;
    const status = statusClass(n.status);
    bars.push(html`<div class=${`wf-row ${status}${n.span_id === selected ? " selected" : ""}`} key=${n.span_id}
        data-span-id=${n.span_id} data-status=${status} role="option" aria-selected=${n.span_id === selected}
        style=${`top:${r * ROW}px`} onClick=${() => onSelect(n.span_id)}>
      <div class="name" style=${`padding-left:${6 + (n.depth - 1) * 14}px`} title=${n.id}>
        ${hasChildren.has(n.span_id)
          ? html`<button class="toggle" aria-label=${collapsed.has(n.span_id) ? "expand" : "collapse"} aria-expanded=${!collapsed.has(n.span_id)} onClick=${(e) => toggle(n.span_id, e)}>${collapsed.has(n.span_id) ? "▶" : "▼"}</button>`
          : html`<span class="toggle"></span>`}
        <span class=${"mark " + status}>${status === "failed" ? "✗" : running ? "◌" : "✓"}</span> ${n.id}
      </div>
      <div class="muted">${n.type}</div>
      <div class="muted" title=${n.model || ""}>${n.model || ""}</div>
      <div class="num">${fmtTokens(n.tokens && n.tokens.total)}</div>
      <div class="num">${n.cost && n.cost.cents != null ? fmtCents(n.cost.cents) : ""}</div>
      <div class="num">${running ? html`<span class="mark running">running</span>` : fmtDuration(n.duration_ms)}</div>
      <div class="bar-cell"><div class=${`bar ${n.type} ${status}`} style=${`left:${left}%;width:${width}%`} title=${`${fmtDuration(start)} +${fmtDuration(end - start)}`}></div></div>
    </div>`);
  }
  return html`<div class="wf" aria-label="spans">
    <div class="wf-head"><div>span</div><div>type</div><div>model</div><div class="num">tokens</div><div class="num">cost</div><div class="num">duration</div><div><${Axis} span=${span} /></div></div>
    <div class="wf-body" ref=${body} tabindex="0" role="listbox" aria-label="spans: ↑ ↓ select, ← → collapse and expand" onKeyDown=${key} onScroll=${(e) => setScroll(e.target.scrollTop)} style=${`height:${height}px`}>
      <div style=${`height:${rows.length * ROW}px;position:relative`}>${bars}</div>
    </div>
  </div>`;
}

function CopyId({ id }) {
  const [done, setDone] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(id);
    } catch {
      const range = document.createRange();
      range.selectNodeContents(document.getElementById("span-id"));
      getSelection().removeAllRanges();
      getSelection().addRange(range);
    }
    setDone(true);
    setTimeout(() => setDone(false), 1200);
  };
  return html`<code id="span-id">${id}</code> <button class="copy" onClick=${copy} title="copy the span id">${done ? "copied" : "copy"}</button>`;
}

function Event({ event }) {
  const a = event.attributes || {};
  const stack = a["exception.stacktrace"];
  return html`<div class="event">
    <div><b class=${event.name === "exception" ? "error" : ""}>${event.name}</b> <span class="muted">${fmtTime(event.time)}</span></div>
    ${a["exception.type"] && html`<div class="error">${a["exception.type"]}: ${a["exception.message"] || ""}</div>`}
    ${stack && html`<pre class="stack">${stack}</pre>`}
    ${Object.keys(a).filter((k) => !k.startsWith("exception.")).length > 0 &&
      html`<${Json} value=${Object.fromEntries(Object.entries(a).filter(([k]) => !k.startsWith("exception.")))} />`}
  </div>`;
}

/** The selected node whole (input, output, attributes, events, log records), asked for when it is selected
 * and again when its outline changes (a running node that finished); the outline until it arrives. */
function useWholeNode(runId, outline) {
  const [whole, setWhole] = useState(null);
  const version = outline ? `${outline.span_id} ${outline.status} ${outline.ended_at}` : "";
  useEffect(() => {
    if (!outline) return;
    let current = true;
    get("/api/v1/agents/logs", { run_id: runId, span_id: outline.span_id }).then(
      (page) => current && setWhole({ version, node: page.body.nodes[0] || null, error: null }),
      (e) => current && setWhole({ version, node: null, error: e.message }),
    );
    return () => { current = false; };
  }, [runId, version]);
  return whole && whole.version === version ? whole : null;
}

function Detail({ runId, outline }) {
  const whole = useWholeNode(runId, outline);
  if (!outline) return html`<section class="card detail"><p class="muted">Select a span (click, or ↑ ↓ in the list) to see its detail.</p></section>`;
  return html`<${NodeDetail} node=${whole && whole.node ? whole.node : outline} loading=${!whole} error=${whole && whole.error} />`;
}

function NodeDetail({ node, loading, error }) {
  const [tab, setTab] = useState("conversation");
  const chat = conversation(node);
  const hasChat = !!(chat.input || chat.output);
  const current = tab === "conversation" && !hasChat ? "io" : tab;
  const t = (name, label, count) => html`<button role="tab" aria-selected=${current === name} onClick=${() => setTab(name)}>${label}${count ? ` (${count})` : ""}</button>`;
  const events = node.events || [];
  const logs = node.log_records || [];
  return html`<section class="card detail" aria-label="span detail">
    <h2><span class=${"badge " + statusClass(node.status)}>${node.status}</span> ${node.id}</h2>
    <dl>
      <dt>span id</dt><dd><${CopyId} id=${node.span_id} /></dd>
      <dt>type</dt><dd>${node.type}${node.tool ? ` · ${node.tool}` : ""}</dd>
      ${node.model && html`<dt>model</dt><dd>${node.model}</dd>`}
      <dt>started</dt><dd>${node.started_at}</dd>
      <dt>duration</dt><dd>${node.status === "running" ? "running" : fmtDuration(node.duration_ms)}</dd>
      ${node.tokens && node.tokens.total != null && html`<dt>tokens</dt><dd>${node.tokens.total} (${node.tokens.input ?? 0} in, ${node.tokens.output ?? 0} out${node.tokens.cache_read ? `, ${node.tokens.cache_read} cache read` : ""}${node.tokens.reasoning ? `, ${node.tokens.reasoning} reasoning` : ""})</dd>`}
      ${node.cost && node.cost.cents != null && html`<dt>cost</dt><dd>${fmtCents(node.cost.cents)} <span class="muted">${node.cost.source}</span></dd>`}
      ${node.parent_span_id && html`<dt>parent</dt><dd class="mono">${node.parent_span_id}</dd>`}
    </dl>
    ${node.error && html`<p class="error">✗ ${node.error.type || ""} ${node.error.message || ""}</p>`}
    ${error && html`<p class="error" role="alert">${error}</p>`}
    ${loading ? html`<p class="muted" id="detail-loading">loading the span's input, output and attributes…</p>` : html`
    <div class="tabs" role="tablist">
      ${hasChat && t("conversation", "Conversation")}${t("io", "Input / output")}${t("attributes", "Attributes", Object.keys(node.attributes || {}).length)}${t("events", "Events", events.length + logs.length)}
    </div>
    ${current === "conversation" && html`
      ${chat.input && html`<h3>Input</h3><${Conversation} messages=${chat.input} />`}
      ${chat.output && html`<h3>Output</h3><${Conversation} messages=${chat.output} />`}`}
    ${current === "io" && html`
      <h3>Input</h3>${node.input != null ? html`<${Json} value=${node.input} />` : html`<p class="muted">none</p>`}
      <h3>Output</h3>${node.output != null ? html`<${Json} value=${node.output} />` : html`<p class="muted">none</p>`}`}
    ${current === "attributes" && html`<table class="attrs"><tbody>${Object.entries(node.attributes || {}).sort(([a], [b]) => a.localeCompare(b)).map(
      ([k, v]) => html`<tr><td class="mono">${k}</td><td>${typeof v === "string" && !/^[[{]/.test(v.trim()) ? v : html`<${Json} value=${v} />`}</td></tr>`,
    )}</tbody></table>`}
    ${current === "events" && html`
      ${events.length === 0 && logs.length === 0 && html`<p class="muted">No events or log records.</p>`}
      ${events.map((e) => html`<${Event} event=${e} />`)}
      ${logs.length > 0 && html`<h3>Log records</h3>${logs.map((r) => html`<div class="event"><b>${r.event_name || r.severity_text || "log"}</b> <span class="muted">${fmtTime(r.time)}</span><${Json} value=${r.body} />${r.attributes && Object.keys(r.attributes).length ? html`<${Json} value=${r.attributes} />` : ""}</div>`)}`}`}`}
  </section>`;
}

export default function RunPage({ runId, query }) {
  const epoch = useKeyEpoch();
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  const [now, setNow] = useState(Date.now());
  const selected = query.get("span");
  const reload = useRef(null);

  const load = () =>
    fetchRun(runId).then((d) => {
      setData(d);
      setError(null);
      performance.mark("agentlog:waterfall");
    }, (e) => setError(e.message));

  useEffect(() => {
    setData(null);
    load();
  }, [runId, epoch]);

  useLive((events) => {
    if (!events.some((e) => e.run_id === data?.logs.run_id || e.run_id === runId)) return;
    clearTimeout(reload.current);
    reload.current = setTimeout(load, 250);
  }, [runId, epoch, data && data.logs.run_id]);

  const running = data && data.nodes.some((n) => n.status === "running") || (data && data.logs.status === "running");
  useEffect(() => {
    if (!running) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [running]);

  if (error) return html`<section class="card"><p class="error" role="alert">${error}</p><p><a href="/">All runs</a></p></section>`;
  if (!data) return html`<section class="card"><p class="muted">loading run ${runId}…</p></section>`;
  const { logs, nodes } = data;
  const run = logs.run || {};
  const t0 = Math.min(ms(run.started_at) || Infinity, ...nodes.slice(0, 1).map((n) => ms(n.started_at)));
  let t1 = run.ended_at ? ms(run.ended_at) : t0;
  for (const n of nodes) t1 = Math.max(t1, n.status === "running" ? now : ms(n.ended_at) || 0);
  if (logs.status === "running") t1 = Math.max(t1, now);
  const byId = new Map(nodes.map((n) => [n.span_id, n]));
  const select = (spanId) => {
    const q = new URLSearchParams(location.search);
    q.set("span", spanId);
    navigate(location.pathname + "?" + q, { replace: true });
  };
  return html`
    <section class="card">
      <div class="run-head">
        <h1>${logs.agent_id || run.agent_id || "run"}</h1>
        <span class=${"badge " + logs.status} id="run-status">${logs.status}</span>
        <code class="muted">${logs.run_id}</code>
        <a href=${"/compare?a=" + logs.run_id}>compare…</a>
      </div>
      <${Totals} logs=${logs} />
      ${run.input && html`<div><span class="muted">input</span><div class="final">${run.input}</div></div>`}
      ${logs.errors.length > 0 && html`<div class="errors">${logs.errors.map(
        (e) => html`<p class="error">✗ <a href="#" onClick=${(ev) => { ev.preventDefault(); e.span_id && select(e.span_id); }}>${e.node}</a>: ${e.type} ${e.message}</p>`,
      )}</div>`}
      ${logs.final_output && html`<div><span class="muted">final output</span><div class="final" id="final-output">${logs.final_output}</div></div>`}
    </section>
    <div class="split">
      <section class="card">
        ${nodes.length === 0
          ? html`<p class="muted">No spans yet.</p>`
          : html`<${Waterfall} nodes=${nodes} selected=${selected} onSelect=${select} t0=${t0} span=${Math.max(0, t1 - t0)} now=${now} />`}
      </section>
      <${Detail} runId=${logs.run_id} outline=${byId.get(selected)} key=${selected} />
    </div>`;
}

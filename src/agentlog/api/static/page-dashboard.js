// Dashboard (/dashboard): the stats and metrics endpoints as charts, filterable by agent and user.
import { html, useEffect, useRef, useState } from "/static/vendor/htm-preact.module.js";
import uPlot from "/static/vendor/uplot.esm.js";
import { fmtCents, fmtDuration, fmtTokens, get, useKeyEpoch, useLive, navigate } from "/static/api.js";

const DAY = 86400;

// uPlot's stylesheet, only on the page that draws charts.
if (!document.querySelector('link[href="/static/vendor/uplot.min.css"]')) {
  const link = document.createElement("link");
  link.rel = "stylesheet";
  link.href = "/static/vendor/uplot.min.css";
  document.head.appendChild(link);
}

/** per_day, one entry for every day of the window (days without runs are zeros). */
function fillDays(stats) {
  const byDate = new Map(stats.per_day.map((d) => [d.date, d]));
  const start = Date.parse(stats.since.slice(0, 10) + "T00:00:00Z") / 1000;
  const out = [];
  for (let t = start; t <= Date.now() / 1000; t += DAY) {
    const date = new Date(t * 1000).toISOString().slice(0, 10);
    out.push([t, byDate.get(date) || null]);
  }
  return out;
}

function Chart({ title, series, data, fmt, id }) {
  const box = useRef(null);
  useEffect(() => {
    const el = box.current;
    const width = Math.max(320, el.clientWidth - 4);
    const plot = new uPlot(
      {
        width,
        height: 220,
        series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.color, fill: s.fill, width: 2, points: { show: true, size: 4 }, value: (u, v) => (v == null ? "—" : fmt(v)) }))],
        axes: [{}, { values: (u, vals) => vals.map(fmt), size: 60 }],
        scales: { x: { time: true } },
        legend: { live: true },
      },
      data,
      el,
    );
    const resize = () => plot.setSize({ width: Math.max(320, el.clientWidth - 4), height: 220 });
    window.addEventListener("resize", resize);
    return () => {
      window.removeEventListener("resize", resize);
      plot.destroy();
    };
  }, [JSON.stringify(data)]);
  return html`<section class="card chart" data-chart=${id}><h2>${title}</h2><div ref=${box}></div></section>`;
}

function BarTable({ title, rows, columns, id }) {
  return html`<section class="card" data-table=${id}><h2>${title}</h2>
    ${rows.length === 0 ? html`<p class="muted">Nothing in this window.</p>` : html`<table><thead><tr>${columns.map((c) => html`<th class=${c.num ? "num" : ""}>${c.label}</th>`)}</tr></thead>
    <tbody>${rows.map((r) => html`<tr>${columns.map((c) => html`<td class=${c.num ? "num" : ""}>${c.render(r)}</td>`)}</tr>`)}</tbody></table>`}
  </section>`;
}

const rate = (r) => html`<span style="display:inline-flex;gap:6px;align-items:center">${(r * 100).toFixed(1)}%
  <span style=${`display:inline-block;height:8px;width:${Math.round(r * 60)}px;background:#c62828;border-radius:2px`}></span></span>`;

export default function DashboardPage({ query }) {
  const epoch = useKeyEpoch();
  const filters = { agent_id: query.get("agent_id") || "", user_id: query.get("user_id") || "", days: query.get("days") || "30" };
  const [stats, setStats] = useState(null);
  const [metrics, setMetrics] = useState(null);
  const [error, setError] = useState(null);
  const [tick, setTick] = useState(0);
  const refresh = useRef(null);
  const key = JSON.stringify(filters);
  useEffect(() => {
    setError(null);
    const metricsParams = { agent_id: filters.agent_id, user_id: filters.user_id, days: filters.days };
    Promise.all([get("/api/v1/agents/stats", filters), get("/api/v1/agents/metrics", metricsParams)]).then(
      ([s, m]) => {
        setStats(s.body);
        setMetrics(m.body);
      },
      (e) => setError(e.message),
    );
  }, [key, epoch, tick]);
  useLive((events) => {
    if (!events.some((e) => e.type === "run.finished")) return;
    clearTimeout(refresh.current);
    refresh.current = setTimeout(() => setTick((t) => t + 1), 1000);
  }, []);
  const submit = (event) => {
    event.preventDefault();
    const q = new URLSearchParams();
    for (const [k, v] of new FormData(event.target)) if (String(v).trim() && !(k === "days" && v === "30")) q.set(k, String(v).trim());
    navigate("/dashboard" + (String(q) ? "?" + q : ""));
  };
  const form = html`<form class="filters card" onSubmit=${submit} key=${key}>
    <input name="agent_id" placeholder="agent" aria-label="agent" value=${filters.agent_id} />
    <input name="user_id" placeholder="user" aria-label="user" value=${filters.user_id} />
    <select name="days" aria-label="days">${[7, 30, 90, 365].map((d) => html`<option value=${d} selected=${String(d) === filters.days}>last ${d} days</option>`)}</select>
    <button>Apply</button>
  </form>`;
  if (error) return html`${form}<p class="error" role="alert">${error}</p>`;
  if (!stats || !metrics) return html`${form}<p class="muted">loading…</p>`;
  const days = fillDays(stats);
  const x = days.map(([t]) => t);
  const col = (f) => days.map(([, d]) => (d ? f(d) : null));
  const zero = (f) => days.map(([, d]) => (d ? f(d) : 0));
  const agents = metrics.agents || [];
  const merge = (key) => {
    const byName = new Map();
    for (const a of agents) for (const r of a[key] || []) {
      const m = byName.get(r.name) || { name: r.name, calls: 0, errors: 0, input_tokens: 0, output_tokens: 0, cost_usd: 0, p95: 0 };
      m.calls += r.calls; m.errors += r.errors; m.input_tokens += r.input_tokens || 0; m.output_tokens += r.output_tokens || 0;
      m.cost_usd += r.cost_usd || 0; m.p95 = Math.max(m.p95, r.p95_duration_ms || 0);
      byName.set(r.name, m);
    }
    return [...byName.values()].sort((a, b) => b.calls - a.calls);
  };
  return html`${form}
    <section class="card totals" id="stat-totals">
      <span><b>${stats.runs}</b> runs</span><span class=${stats.failed_runs ? "error" : ""}><b>${stats.failed_runs}</b> failed</span>
      <span>success <b>${stats.success_rate == null ? "—" : (stats.success_rate * 100).toFixed(1) + "%"}</b></span>
      <span>avg <b>${fmtDuration(stats.avg_duration_ms)}</b></span><span>p95 <b>${fmtDuration(stats.p95_duration_ms)}</b></span>
      <span>tokens <b>${fmtTokens(stats.tokens.total)}</b></span><span>cost <b>${fmtCents(stats.cost_cents)}</b></span>
    </section>
    <div class="charts">
      <${Chart} id="runs" title="Runs and failures per day" fmt=${(v) => String(Math.round(v))} data=${[x, zero((d) => d.runs), zero((d) => d.failed_runs)]}
        series=${[{ label: "runs", color: "#2f5fd0", fill: "rgba(47,95,208,.08)" }, { label: "failed", color: "#c62828" }]} />
      <${Chart} id="duration" title="Run duration per day (avg, p95)" fmt=${fmtDuration} data=${[x, col((d) => d.avg_duration_ms), col((d) => d.p95_duration_ms)]}
        series=${[{ label: "avg", color: "#3fa7a0" }, { label: "p95", color: "#b26a00" }]} />
      <${Chart} id="tokens" title="Tokens per day" fmt=${fmtTokens} data=${[x, zero((d) => d.tokens.input), zero((d) => d.tokens.output)]}
        series=${[{ label: "input", color: "#7c6ce6" }, { label: "output", color: "#e66c9b" }]} />
      <${Chart} id="cost" title="Cost per day" fmt=${fmtCents} data=${[x, col((d) => d.cost_cents)]}
        series=${[{ label: "cost", color: "#17803d", fill: "rgba(23,128,61,.08)" }]} />
    </div>
    <div class="charts">
      <${BarTable} id="agents" title="By agent" rows=${agents} columns=${[
        { label: "agent", render: (a) => html`<a href=${"/?agent_id=" + encodeURIComponent(a.agent_id)}>${a.agent_id}</a>` },
        { label: "runs", num: true, render: (a) => a.runs },
        { label: "p50", num: true, render: (a) => fmtDuration(a.duration_ms.p50) },
        { label: "p95", num: true, render: (a) => fmtDuration(a.duration_ms.p95) },
        { label: "error rate", render: (a) => rate(a.error_rate) },
        { label: "tokens/run", num: true, render: (a) => fmtTokens(Math.round(a.tokens_per_run)) },
        { label: "cost", num: true, render: (a) => fmtCents(a.cost_usd == null ? null : a.cost_usd * 100) },
      ]} />
      <${BarTable} id="models" title="By model" rows=${merge("by_model")} columns=${[
        { label: "model", render: (m) => m.name },
        { label: "calls", num: true, render: (m) => m.calls },
        { label: "input tokens", num: true, render: (m) => fmtTokens(m.input_tokens) },
        { label: "output tokens", num: true, render: (m) => fmtTokens(m.output_tokens) },
        { label: "cost", num: true, render: (m) => fmtCents(m.cost_usd * 100) },
        { label: "error rate", render: (m) => rate(m.calls ? m.errors / m.calls : 0) },
      ]} />
      <${BarTable} id="tools" title="Tool error rates" rows=${merge("tools")} columns=${[
        { label: "tool", render: (t) => t.name },
        { label: "calls", num: true, render: (t) => t.calls },
        { label: "errors", num: true, render: (t) => t.errors },
        { label: "error rate", render: (t) => rate(t.calls ? t.errors / t.calls : 0) },
        { label: "p95", num: true, render: (t) => fmtDuration(t.p95) },
      ]} />
    </div>`;
}

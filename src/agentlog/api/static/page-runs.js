// Runs (/): the history with filters, sorting, cursor paging to the end, and live updates.
import { html, useEffect, useRef, useState } from "/static/vendor/htm-preact.module.js";
import {
  RUNS_PAGE as PAGE, fmtCents, fmtDuration, fmtTime, fmtTokens, get, historyFilters, oneLine, useCapabilities,
  useKeyEpoch, useLive,
  navigate,
} from "/static/api.js";

const SORTS = [["start", "started"], ["duration", "duration"], ["tokens", "tokens"], ["cost", "cost"]];


/** datetime-local value <-> ISO 8601 (the API's since/until). */
const toLocalInput = (iso) => {
  if (!iso) return "";
  const d = new Date(iso);
  if (isNaN(d)) return "";
  return new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
};
const fromLocalInput = (value) => (value ? new Date(value).toISOString() : "");

function Filters({ filters, caps, facets }) {
  const submit = (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    const query = new URLSearchParams();
    for (const [k, v] of form) {
      const value = k === "since" || k === "until" ? fromLocalInput(v) : String(v).trim();
      if (value) query.set(k, value);
    }
    if (filters.sort) query.set("sort", filters.sort);
    if (filters.order) query.set("order", filters.order);
    navigate("/" + (String(query) ? "?" + query : ""));
  };
  const has = (name) => !caps || caps.history.has(name);
  const list = (id, values) => html`<datalist id=${id}>${values.map((v) => html`<option value=${v} />`)}</datalist>`;
  return html`<form class="filters" onSubmit=${submit} key=${JSON.stringify(filters)}>
    <input name="agent_id" placeholder="agent" aria-label="agent" value=${filters.agent_id || ""} list="agents" />
    <input name="user_id" placeholder="user" aria-label="user" value=${filters.user_id || ""} list="users" />
    <input name="session_id" placeholder="session" aria-label="session" value=${filters.session_id || ""} />
    <select name="status" aria-label="status">
      ${["", "running", "success", "failed"].map(
        (s) => html`<option value=${s} selected=${(filters.status || "") === s}>${s || "any status"}</option>`,
      )}
    </select>
    ${has("model") && html`<input name="model" placeholder="model" aria-label="model" value=${filters.model || ""} list="models" />`}
    ${has("q") && html`<input name="q" type="search" class="wide" placeholder="search input and output" aria-label="search" value=${filters.q || ""} />`}
    <label>from <input name="since" type="datetime-local" value=${toLocalInput(filters.since)} /></label>
    <label>to <input name="until" type="datetime-local" value=${toLocalInput(filters.until)} /></label>
    <button>Filter</button>
    ${Object.keys(filters).length > 0 && html`<a href="/" class="button">Clear</a>`}
    ${list("agents", (facets?.agents || []).map((a) => a.agent_id))}
    ${list("users", (facets?.users || []).map((u) => u.user_id))}
    ${list("models", (facets?.models || []).map((m) => m.model))}
  </form>`;
}

export function RunRow({ run, picked, onPick }) {
  const error = run.error ? `${run.error.node}: ${run.error.type || ""} ${run.error.message || ""}` : "";
  return html`<tr class="run" data-run-id=${run.run_id}>
    ${onPick && html`<td><input type="checkbox" aria-label="compare" checked=${picked} onChange=${() => onPick(run.run_id)} /></td>`}
    <td class="mono"><a href=${"/runs/" + run.run_id} title=${run.run_id}>${run.run_id.slice(0, 8)}</a></td>
    <td class="clip" title=${run.agent_id}>${run.agent_id}</td>
    <td><span class=${"badge " + run.status} title=${error}>${run.status}</span></td>
    <td class="num" title=${run.started_at}>${fmtTime(run.started_at)}</td>
    <td class="num">${run.status === "running" ? "…" : fmtDuration(run.duration_ms)}</td>
    <td class="num">${run.node_count}</td>
    <td class="num" title=${JSON.stringify(run.tokens)}>${fmtTokens(run.tokens_used)}</td>
    <td class="num" title=${run.cost_source || ""}>${fmtCents(run.cost_cents)}</td>
    <td class="clip" title=${run.user_id || ""}>${run.user_id || ""}</td>
    <td class="clip">${run.session_id ? html`<a href=${"/sessions/" + encodeURIComponent(run.session_id)} title=${run.session_id}>${run.session_id}</a>` : ""}</td>
    <td class="text" title=${run.input || ""}>${oneLine(run.input)}</td>
    <td class="text" title=${run.output || error}>${run.output ? oneLine(run.output) : error ? html`<span class="error">${oneLine(error)}</span>` : ""}</td>
  </tr>`;
}

function SortHeader({ name, label, filters, enabled }) {
  const current = filters.sort || "start";
  const order = filters.order || "desc";
  if (!enabled) return html`<th class="num">${label}</th>`;
  const click = () => {
    const query = new URLSearchParams(location.search);
    query.delete("cursor");
    const nextOrder = current === name && order === "desc" ? "asc" : "desc";
    if (name === "start" && nextOrder === "desc") {
      query.delete("sort");
      query.delete("order");
    } else {
      query.set("sort", name);
      query.set("order", nextOrder);
    }
    navigate("/" + (String(query) ? "?" + query : ""));
  };
  const arrow = current === name ? (order === "desc" ? " ↓" : " ↑") : "";
  return html`<th class="num" aria-sort=${current === name ? (order === "desc" ? "descending" : "ascending") : "none"}>
    <button class="link" onClick=${click} data-sort=${name}>${label}${arrow}</button></th>`;
}

export default function RunsPage({ query }) {
  const epoch = useKeyEpoch();
  const caps = useCapabilities();
  const filters = historyFilters(query);
  const filterKey = JSON.stringify(filters);
  const [runs, setRuns] = useState(null);
  const [next, setNext] = useState(null);
  const [error, setError] = useState(null);
  const [loadingMore, setLoadingMore] = useState(false);
  const [facets, setFacets] = useState(null);
  const [picked, setPicked] = useState([]);
  const refresh = useRef(null);

  const load = async () => {
    try {
      const { body, next } = await get("/api/v1/agents/history", { ...filters, limit: PAGE });
      return { body, next };
    } catch (e) {
      setError(e.message);
      return null;
    }
  };

  useEffect(() => {
    let stale = false;
    setError(null);
    load().then((page) => {
      if (stale || !page) return;
      setRuns(page.body);
      setNext(page.next);
    });
    return () => {
      stale = true;
    };
  }, [filterKey, epoch]);

  useEffect(() => {
    if (caps && caps.facets) get("/api/v1/agents/facets").then(({ body }) => setFacets(body)).catch(() => {});
  }, [caps, epoch]);

  // Live: a run that starts, changes or finishes refreshes the first page (at most every 500 ms);
  // the rows loaded beyond it stay.
  useLive(
    (events) => {
      if (!events.some((e) => e.type.startsWith("run."))) return;
      clearTimeout(refresh.current);
      refresh.current = setTimeout(async () => {
        const page = await load();
        if (!page) return;
        setRuns((old) => {
          const fresh = new Set(page.body.map((r) => r.run_id));
          const byId = new Map(page.body.map((r) => [r.run_id, r]));
          const rest = (old || []).filter((r) => !fresh.has(r.run_id));
          // Rows further down that changed state: take their newest version from the events.
          for (const e of events) if (e.run && !byId.has(e.run_id)) {
            const i = rest.findIndex((r) => r.run_id === e.run_id);
            if (i >= 0) rest[i] = e.run;
          }
          return [...page.body, ...rest];
        });
      }, 500);
    },
    [filterKey, epoch],
  );

  const more = async () => {
    setLoadingMore(true);
    try {
      const { body, next: after } = await get("/api/v1/agents/history", { ...filters, limit: PAGE, cursor: next });
      setRuns((old) => {
        const seen = new Set(old.map((r) => r.run_id));
        return [...old, ...body.filter((r) => !seen.has(r.run_id))];
      });
      setNext(after);
    } catch (e) {
      setError(e.message);
    } finally {
      setLoadingMore(false);
    }
  };

  const pick = (runId) =>
    setPicked((p) => (p.includes(runId) ? p.filter((x) => x !== runId) : [...p.slice(-1), runId]));
  const sortable = !!caps && caps.history.has("sort");

  return html`<section class="card">
    <${Filters} filters=${filters} caps=${caps} facets=${facets} />
    ${error && html`<p class="error" role="alert">${error}</p>`}
    <div class="toolbar">
      <span class="muted">${runs ? `${runs.length}${next ? "+" : ""} runs` : "loading…"}</span>
      ${picked.length === 2
        ? html`<a class="button" href=${`/compare?a=${picked[0]}&b=${picked[1]}`}>Compare the two picked runs</a>`
        : html`<span class="muted">pick two runs to compare them</span>`}
    </div>
    <div class="table-wrap">
    <table class="runs">
      <thead><tr>
        <th></th><th>run</th><th>agent</th><th>status</th>
        <${SortHeader} name="start" label="started" filters=${filters} enabled=${sortable} />
        <${SortHeader} name="duration" label="duration" filters=${filters} enabled=${sortable} />
        <th class="num">nodes</th>
        <${SortHeader} name="tokens" label="tokens" filters=${filters} enabled=${sortable} />
        <${SortHeader} name="cost" label="cost" filters=${filters} enabled=${sortable} />
        <th>user</th><th>session</th><th>input</th><th>output</th>
      </tr></thead>
      <tbody id="runs">
        ${(runs || []).map((run) => html`<${RunRow} key=${run.run_id} run=${run} picked=${picked.includes(run.run_id)} onPick=${pick} />`)}
      </tbody>
    </table>
    </div>
    ${runs && runs.length === 0 && html`<p class="muted empty">No runs${Object.keys(filters).length ? " match these filters" : " yet: point an OpenTelemetry exporter at this server"}.</p>`}
    ${next && html`<p><button class="more" onClick=${more} disabled=${loadingMore}>${loadingMore ? "loading…" : "Load more"}</button></p>`}
    ${runs && runs.length > 0 && !next && html`<p class="muted end">End of the history.</p>`}
  </section>`;
}

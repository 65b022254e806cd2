// Sessions (/sessions): the sessions, newest first, with their totals; each links to its conversation.
import { html, useEffect, useState } from "/static/vendor/htm-preact.module.js";
import {
  fmtCents, fmtDuration, fmtTime, fmtTokens, get, navigate, useCapabilities, useKeyEpoch, useLive,
} from "/static/api.js";

const FILTERS = ["agent_id", "user_id", "q"];
const PAGE = 50;

export default function SessionsPage({ query }) {
  const epoch = useKeyEpoch();
  const caps = useCapabilities();
  const filters = Object.fromEntries(FILTERS.filter((k) => query.get(k)).map((k) => [k, query.get(k)]));
  const key = JSON.stringify(filters);
  const [sessions, setSessions] = useState(null);
  const [next, setNext] = useState(null);
  const [error, setError] = useState(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (!caps || !caps.sessions) return;
    get("/api/v1/agents/sessions", { ...filters, limit: PAGE }).then(
      ({ body }) => {
        setSessions(body.sessions);
        setNext(body.next_cursor);
        setError(null);
      },
      (e) => setError(e.message),
    );
  }, [key, epoch, caps, tick]);
  useLive((events) => {
    if (events.some((e) => e.type.startsWith("run.") && e.run && e.run.session_id)) setTick((t) => t + 1);
  }, []);
  const more = () =>
    get("/api/v1/agents/sessions", { ...filters, limit: PAGE, cursor: next }).then(({ body }) => {
      setSessions((old) => [...old, ...body.sessions]);
      setNext(body.next_cursor);
    }, (e) => setError(e.message));
  const submit = (event) => {
    event.preventDefault();
    const q = new URLSearchParams();
    for (const [k, v] of new FormData(event.target)) if (String(v).trim()) q.set(k, String(v).trim());
    navigate("/sessions" + (String(q) ? "?" + q : ""));
  };
  if (caps && !caps.sessions)
    return html`<section class="card"><p class="muted">This server has no sessions endpoint yet: open a session from the <a href="/">runs</a> (its session column).</p></section>`;
  return html`<section class="card">
    <form class="filters" onSubmit=${submit} key=${key}>
      <input name="agent_id" placeholder="agent" aria-label="agent" value=${filters.agent_id || ""} />
      <input name="user_id" placeholder="user" aria-label="user" value=${filters.user_id || ""} />
      <input name="q" type="search" class="wide" placeholder="search input and output" aria-label="search" value=${filters.q || ""} />
      <button>Filter</button>
    </form>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    <div class="table-wrap"><table class="sessions">
      <thead><tr><th>session</th><th>user</th><th>agents</th><th class="num">runs</th><th class="num">failed</th><th class="num">first run</th><th class="num">last run</th><th class="num">run time</th><th class="num">tokens</th><th class="num">cost</th></tr></thead>
      <tbody>${(sessions || []).map((s) => html`<tr class="session" data-session-id=${s.session_id}>
        <td class="clip"><a href=${"/sessions/" + encodeURIComponent(s.session_id)} title=${s.session_id}>${s.session_id}</a></td>
        <td class="clip">${s.user_id || ""}</td>
        <td class="clip" title=${(s.agent_ids || []).join(", ")}>${(s.agent_ids || []).join(", ")}</td>
        <td class="num">${s.runs}${s.running_runs ? html` <span class="mark running">(${s.running_runs} running)</span>` : ""}</td>
        <td class=${"num" + (s.failed_runs ? " error" : "")}>${s.failed_runs}</td>
        <td class="num">${fmtTime(s.first_started_at)}</td>
        <td class="num">${fmtTime(s.last_started_at)}</td>
        <td class="num">${fmtDuration(s.duration_ms)}</td>
        <td class="num">${fmtTokens(s.tokens && s.tokens.total)}</td>
        <td class="num">${fmtCents(s.cost_cents)}</td>
      </tr>`)}</tbody>
    </table></div>
    ${sessions && sessions.length === 0 && html`<p class="muted empty">No sessions${key !== "{}" ? " match these filters" : ""}.</p>`}
    ${next && html`<p><button class="more" onClick=${more}>Load more</button></p>`}
  </section>`;
}

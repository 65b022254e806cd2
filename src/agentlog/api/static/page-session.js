// A session (/sessions/{session_id}): its runs in order as one conversation, with totals and links to each run.
import { html, useEffect, useRef, useState } from "/static/vendor/htm-preact.module.js";
import { fmtCents, fmtDuration, fmtTime, fmtTokens, get, useKeyEpoch, useLive } from "/static/api.js";

/** The session's runs, oldest first, with its totals. */
async function fetchSession(sessionId) {
  const { body } = await get("/api/v1/agents/sessions/" + encodeURIComponent(sessionId));
  return body;
}

export default function SessionPage({ sessionId }) {
  const epoch = useKeyEpoch();
  const [session, setSession] = useState(null);
  const [error, setError] = useState(null);
  const reload = useRef(null);
  const load = () => fetchSession(sessionId).then((s) => { setSession(s); setError(null); }, (e) => setError(e.message));
  useEffect(() => { setSession(null); load(); }, [sessionId, epoch]);
  useLive((events) => {
    if (!events.some((e) => e.run && e.run.session_id === sessionId)) return;
    clearTimeout(reload.current);
    reload.current = setTimeout(load, 300);
  }, [sessionId, epoch]);
  if (error) return html`<section class="card"><p class="error" role="alert">${error}</p></section>`;
  if (!session) return html`<section class="card"><p class="muted">loading session…</p></section>`;
  if (!session.items.length) return html`<section class="card"><h1>Session ${sessionId}</h1><p class="muted">No runs in this session.</p></section>`;
  return html`<section class="card">
      <h1>Session <code>${sessionId}</code></h1>
      <div class="totals" id="session-totals">
        <span><b>${session.runs}</b> runs</span>
        <span class=${session.failed_runs ? "error" : ""}><b>${session.failed_runs}</b> failed</span>
        ${session.running_runs ? html`<span class="mark running"><b>${session.running_runs}</b> running</span>` : ""}
        ${session.user_id && html`<span>user <b>${session.user_id}</b></span>`}
        <span>agents <b>${(session.agent_ids || []).join(", ")}</b></span>
        <span>run time <b>${fmtDuration(session.duration_ms)}</b></span>
        <span>tokens <b>${fmtTokens(session.tokens.total)}</b></span>
        <span>cost <b>${fmtCents(session.cost_cents)}</b></span>
        <a href=${"/?session_id=" + encodeURIComponent(sessionId)}>as a table</a>
      </div>
      ${session.truncated && html`<p class="muted">Only the first ${session.items.length} runs are shown.</p>`}
    </section>
    <section class="card">${session.items.map((r) => html`<div class=${"turn " + r.status} data-run-id=${r.run_id}>
      <div class="meta"><a href=${"/runs/" + r.run_id}>${r.run_id.slice(0, 8)}</a> · ${r.agent_id} · ${fmtTime(r.started_at)} ·
        <span class=${"badge " + r.status}>${r.status}</span> · ${r.status === "running" ? "running" : fmtDuration(r.duration_ms)} · ${fmtTokens(r.tokens_used)} tokens · ${fmtCents(r.cost_cents)}</div>
      <div class="chat">
        ${r.input && html`<div class="msg user"><div class="role">user</div><div class="content">${r.input}</div></div>`}
        ${r.output && html`<div class="msg assistant"><div class="role">${r.agent_id}</div><div class="content">${r.output}</div></div>`}
        ${r.error && html`<div class=${"msg " + (r.status === "failed" ? "error" : "recovered")}>
          <div class="role">${r.status === "failed" ? "error" : "recovered from"}</div>
          <div class=${"content" + (r.status === "failed" ? " error" : "")}>${r.error.node}: ${r.error.type || ""} ${r.error.message || ""}</div></div>`}
      </div>
    </div>`)}</section>`;
}

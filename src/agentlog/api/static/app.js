// The shell: header (navigation, live indicator, key form) and client-side routing with the History API.
import { html, render, useEffect, useState } from "/static/vendor/htm-preact.module.js";
import { LOGS_PAGE, RUNS_PAGE, historyFilters, navigate, prefetch, setKey, useShared } from "/static/api.js";

const PAGES = {
  runs: () => import("/static/page-runs.js"),
  run: () => import("/static/page-run.js"),
  sessions: () => import("/static/page-sessions.js"),
  session: () => import("/static/page-session.js"),
  compare: () => import("/static/page-compare.js"),
  dashboard: () => import("/static/page-dashboard.js"),
};

/** The page for a location: [name, params]. */
export function route(loc) {
  const path = loc.pathname;
  const query = new URLSearchParams(loc.search);
  let m;
  if ((m = path.match(/^\/runs\/([^/]+)\/?$/))) return ["run", { runId: decodeURIComponent(m[1]), query }];
  if (path === "/sessions" || path === "/sessions/") return ["sessions", { query }];
  if ((m = path.match(/^\/sessions\/([^/]+)\/?$/))) return ["session", { sessionId: decodeURIComponent(m[1]), query }];
  if (path === "/compare") return ["compare", { query }];
  if (path === "/dashboard") return ["dashboard", { query }];
  return ["runs", { query }];
}

function useLocation() {
  const [loc, setLoc] = useState({ pathname: location.pathname, search: location.search });
  useEffect(() => {
    const update = () => setLoc({ pathname: location.pathname, search: location.search });
    window.addEventListener("popstate", update);
    window.addEventListener("agentlog:navigate", update);
    return () => {
      window.removeEventListener("popstate", update);
      window.removeEventListener("agentlog:navigate", update);
    };
  }, []);
  return loc;
}

// Same-origin links navigate in place (a modified click, or a middle click, still opens a new tab).
document.addEventListener("click", (event) => {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const a = event.target.closest("a[href]");
  if (!a || a.target || a.hasAttribute("download")) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || url.pathname.startsWith("/api/") || url.pathname.startsWith("/static/")) return;
  event.preventDefault();
  if (url.pathname + url.search !== location.pathname + location.search) {
    navigate(url.pathname + url.search + url.hash);
    window.scrollTo(0, 0);
  }
});

function KeyForm() {
  const shared = useShared();
  const [value, setValue] = useState("");
  if (!shared.needKey) return html`<form id="keyform" hidden></form>`;
  const submit = (event) => {
    event.preventDefault();
    setKey(value.trim());
  };
  return html`<form id="keyform" class="keyform" onSubmit=${submit}>
    <input id="key" type="password" placeholder="API key (read or admin)" size="34" aria-label="API key"
      value=${value} onInput=${(e) => setValue(e.target.value)} />
    <button>Use key</button>
  </form>`;
}

function Header({ page }) {
  const shared = useShared();
  const tab = (name, href, label) =>
    html`<a href=${href} class=${page === name ? "tab active" : "tab"} aria-current=${page === name ? "page" : null}>${label}</a>`;
  return html`<header class="top">
    <a href="/" class="brand">agentlog</a>
    <nav>${tab("runs", "/", "Runs")}${tab("sessions", "/sessions", "Sessions")}${tab("dashboard", "/dashboard", "Dashboard")}${tab("compare", "/compare", "Compare")}</nav>
    <span class=${"live " + (shared.live === "live" ? "on" : "off")} id="live" title="the live feed">${shared.live}</span>
    <${KeyForm} />
  </header>`;
}

function App({ initial }) {
  const loc = useLocation();
  const [name, params] = route(loc);
  const [modules, setModules] = useState(initial);
  const [failed, setFailed] = useState(null);
  useEffect(() => {
    if (!modules[name])
      PAGES[name]()
        .then((module) => setModules((m) => ({ ...m, [name]: module })))
        .catch((e) => setFailed(String(e)));
  }, [name]);
  const Page = modules[name] && modules[name].default;
  return html`<${Header} page=${name} />
    <main class=${"page page-" + name}>
      ${failed ? html`<p class="error">${failed}</p>` : Page ? html`<${Page} ...${params} />` : html`<p class="muted">loading…</p>`}
    </main>`;
}

// The first page: its data is asked for while its module loads, and it renders once that module is here.
const [first, firstParams] = route(location);
if (first === "runs") prefetch("/api/v1/agents/history", { ...historyFilters(firstParams.query), limit: RUNS_PAGE });
if (first === "run") prefetch("/api/v1/agents/logs", { run_id: firstParams.runId, limit: LOGS_PAGE, outline: "true" });
const firstModule = await PAGES[first]().catch(() => null);
document.getElementById("app").textContent = "";
render(html`<${App} initial=${firstModule ? { [first]: firstModule } : {}} />`, document.getElementById("app"));

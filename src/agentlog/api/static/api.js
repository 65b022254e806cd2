// The API as the page reads it: fetch with the key, the capabilities the server declares, the live feed,
// and the small formatting helpers every page shares.
import { useEffect, useState } from "/static/vendor/htm-preact.module.js";

const KEY = "agentlog.key";

// ---- shared state (the key, whether the server asked for one, the live feed's state) ----
const state = {
  key: new URLSearchParams(location.hash.slice(1)).get("key") || localStorage.getItem(KEY) || "",
  needKey: false,
  live: "connecting…",
};
if (location.hash.includes("key=")) {
  localStorage.setItem(KEY, state.key);
  history.replaceState(history.state, "", location.pathname + location.search); // keep the key out of the address bar
}
const watchers = new Set();
export function setShared(patch) {
  Object.assign(state, patch);
  for (const watcher of watchers) watcher({ ...state });
}
export function useShared() {
  const [value, setValue] = useState({ ...state });
  useEffect(() => {
    watchers.add(setValue);
    return () => watchers.delete(setValue);
  }, []);
  return value;
}
export function useKeyEpoch() {
  // Pages refetch when the key changes: the key is part of what they depend on.
  return useShared().key;
}
export function setKey(key) {
  localStorage.setItem(KEY, key);
  setShared({ key, needKey: false });
  reconnect();
}

/** Go to a page's address (the shell's router listens). */
export function navigate(url, { replace = false } = {}) {
  if (replace) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  window.dispatchEvent(new Event("agentlog:navigate"));
}

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function urlOf(path, params) {
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") query.set(k, v);
  return path + (String(query) ? "?" + query : "");
}

// Requests the shell starts before the page's module has loaded: the page's first get() of the same URL
// takes the one in flight instead of asking again.
const early = new Map();
export function prefetch(path, params = {}) {
  const url = urlOf(path, params);
  if (early.has(url)) return;
  const request = fetchJson(url);
  request.catch(() => {}); // whoever takes it handles its failure
  early.set(url, request);
}
if (window.agentlogEarly) {
  // index.html's inline script asked for the first page's data before any module loaded.
  const { url, response } = window.agentlogEarly;
  delete window.agentlogEarly;
  const request = fetchJson(url, response);
  request.catch(() => {});
  early.set(url, request);
}

/** GET a JSON endpoint; resolves to {body, next} (next: the X-Next-Cursor header, or null). */
export function get(path, params = {}) {
  const url = urlOf(path, params);
  const request = early.get(url);
  if (request) {
    early.delete(url);
    return request;
  }
  return fetchJson(url);
}

/** The history's parameters for a page address's query: its filters and sort, the first page. */
export const HISTORY_FILTERS = ["agent_id", "user_id", "session_id", "status", "model", "q", "since", "until", "sort", "order"];
export function historyFilters(query) {
  const out = {};
  for (const name of HISTORY_FILTERS) if (query.get(name)) out[name] = query.get(name);
  return out;
}
export const RUNS_PAGE = 50;
export const LOGS_PAGE = 2000;

async function fetchJson(url, started = null) {
  const response = await (started || fetch(url, state.key ? { headers: { Authorization: "Bearer " + state.key } } : {}));
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (response.status === 401 || response.status === 403) setShared({ needKey: true });
  if (!response.ok) {
    const message = body && body.error ? body.error.message : response.statusText;
    throw new ApiError(response.status, message);
  }
  return { body, next: response.headers.get("X-Next-Cursor") };
}

// ---- what this server offers (the OpenAPI document is open to every caller) ----
let capabilities = null;
export function serverCapabilities() {
  if (!capabilities) {
    capabilities = fetch("/openapi.json")
      .then((r) => r.json())
      .then((doc) => {
        const history = doc.paths["/api/v1/agents/history"].get.parameters.map((p) => p.name);
        return {
          history: new Set(history),
          sessions: "/api/v1/agents/sessions" in doc.paths,
          session: "/api/v1/agents/sessions/{session_id}" in doc.paths,
          facets: "/api/v1/agents/facets" in doc.paths,
        };
      })
      .catch(() => ({ history: new Set(), sessions: false, session: false, facets: false }));
  }
  return capabilities;
}
export function useCapabilities() {
  const [caps, setCaps] = useState(null);
  useEffect(() => {
    serverCapabilities().then(setCaps);
  }, []);
  return caps;
}

// ---- the live feed: one WebSocket for the page, its events handed to every subscriber ----
const subscribers = new Set();
let socket = null;
let cursor = null;
let retry = null;
export function subscribe(fn) {
  subscribers.add(fn);
  if (!socket) connect();
  return () => subscribers.delete(fn);
}
function connect() {
  clearTimeout(retry);
  const query = new URLSearchParams();
  if (state.key) query.set("token", state.key); // a browser cannot set a WebSocket's headers
  if (cursor) query.set("cursor", cursor); // reconnecting: miss nothing
  const scheme = location.protocol === "https:" ? "wss://" : "ws://";
  const ws = new WebSocket(scheme + location.host + "/api/v1/agents/live" + (String(query) ? "?" + query : ""));
  socket = ws;
  ws.onopen = () => setShared({ live: "live" });
  ws.onmessage = (message) => {
    const data = JSON.parse(message.data);
    if (data.error) {
      if (data.error.code === "unauthorized" || data.error.code === "forbidden") setShared({ needKey: true });
      return;
    }
    cursor = data.cursor || cursor;
    if (data.events && data.events.length) for (const fn of subscribers) fn(data.events);
  };
  ws.onclose = () => {
    if (socket !== ws) return;
    if (state.needKey) {
      setShared({ live: "needs a key" }); // setKey() reconnects
      return;
    }
    setShared({ live: "reconnecting…" });
    retry = setTimeout(connect, 2000);
  };
}
function reconnect() {
  const old = socket;
  socket = null;
  if (old) {
    old.onclose = null;
    old.close();
  }
  cursor = null;
  connect();
}
export function useLive(fn, deps) {
  useEffect(() => subscribe(fn), deps);
}

// ---- formatting ----
export function fmtDuration(ms) {
  if (ms === null || ms === undefined) return "";
  if (ms === 0) return "0";
  if (ms < 1) return ms.toFixed(2) + "ms";
  if (ms < 1000) return Math.round(ms) + "ms";
  if (ms < 60000) return (ms / 1000).toFixed(ms < 10000 ? 2 : 1) + "s";
  const minutes = Math.floor(ms / 60000);
  if (minutes < 60) return `${minutes}m${Math.round((ms % 60000) / 1000)}s`;
  return `${Math.floor(minutes / 60)}h${minutes % 60}m`;
}
export function fmtCents(cents) {
  if (cents === null || cents === undefined) return "—";
  if (cents === 0) return "0¢";
  if (cents >= 100) return "$" + (cents / 100).toFixed(2);
  return (cents < 0.01 ? cents.toPrecision(2) : cents.toFixed(cents < 1 ? 3 : 2)) + "¢";
}
export function fmtTokens(n) {
  if (n === null || n === undefined) return "";
  if (n >= 1e6) return (n / 1e6).toFixed(1) + "M";
  if (n >= 1e4) return (n / 1e3).toFixed(1) + "k";
  return String(n);
}
export function fmtTime(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  const pad = (n, w = 2) => String(n).padStart(w, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}
export function oneLine(text, max = 160) {
  if (text === null || text === undefined) return "";
  const s = String(text).replace(/\s+/g, " ").trim();
  return s.length > max ? s.slice(0, max - 1) + "…" : s;
}
export function statusClass(status) {
  return status === "completed" ? "success" : status || "";
}

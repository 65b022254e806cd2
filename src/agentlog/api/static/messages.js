// Chat messages, read from a node the way the normaliser reads them (docs/conventions.md), rendered as a
// conversation: roles, text parts, tool calls (name and JSON arguments), tool results.
import { html } from "/static/vendor/htm-preact.module.js";

export function parseJson(value) {
  if (typeof value !== "string") return value;
  const s = value.trim();
  if (!(s.startsWith("{") || s.startsWith("["))) return value;
  try {
    return JSON.parse(s);
  } catch {
    return value;
  }
}

/** One part of a message's content, in any of the shapes senders use, as {kind, ...}. */
function part(p) {
  if (p === null || p === undefined) return null;
  if (typeof p === "string") return { kind: "text", text: p };
  if (typeof p !== "object") return { kind: "text", text: String(p) };
  const type = p.type || p.part_kind || (p.message_content && p.message_content.type);
  if (p.message_content) return part({ type: p.message_content.type, text: p.message_content.text });
  switch (type) {
    case "text": case "input_text": case "output_text": case "reasoning": case "thinking":
      return { kind: type === "reasoning" || type === "thinking" ? "reasoning" : "text", text: p.content ?? p.text ?? p.thinking ?? "" };
    case "tool_call": case "tool-call": case "tool_use": case "function_call": case "tool-call-part":
      return { kind: "call", id: p.id ?? p.toolCallId ?? p.call_id ?? p.tool_call_id, name: p.name ?? p.toolName ?? p.tool_name, args: parseJson(p.arguments ?? p.args ?? p.input) };
    case "tool_call_response": case "tool-result": case "tool_result": case "function_call_output": case "tool-return":
      return { kind: "result", id: p.id ?? p.toolCallId ?? p.tool_use_id ?? p.call_id ?? p.tool_call_id, name: p.toolName ?? p.tool_name, result: parseJson(p.response ?? p.result ?? p.output ?? p.content) };
    default:
      if (p.content !== undefined || p.text !== undefined) return { kind: "text", text: typeof (p.content ?? p.text) === "string" ? (p.content ?? p.text) : JSON.stringify(p.content ?? p.text) };
      return { kind: "data", value: p };
  }
}

/** A message in GenAI, OpenAI, Anthropic, Vercel AI SDK or OpenInference's shape, as {role, parts}. */
export function normalizeMessage(m) {
  if (typeof m === "string") return { role: "user", parts: [{ kind: "text", text: m }] };
  if (!m || typeof m !== "object") return null;
  const role = m.role || (m.kind === "request" ? "user" : m.kind === "response" ? "assistant" : "message");
  const parts = [];
  const content = m.parts ?? m.content ?? m.contents;
  if (Array.isArray(content)) for (const p of content) { const q = part(p); if (q) parts.push(q); }
  else if (content !== undefined && content !== null && content !== "") {
    const value = parseJson(content);
    if (Array.isArray(value)) for (const p of value) { const q = part(p); if (q) parts.push(q); }
    else parts.push(typeof value === "string" ? { kind: "text", text: value } : { kind: "data", value });
  }
  for (const call of m.tool_calls || m.toolCalls || []) {
    const fn = call.function || call.tool_call?.function || call;
    parts.push({ kind: "call", id: call.id ?? call.toolCallId, name: fn.name ?? call.toolName, args: parseJson(fn.arguments ?? call.args ?? call.input) });
  }
  if (m.tool_call_id && role === "tool")
    for (const p of parts)
      if (p.kind === "text" || p.kind === "data") Object.assign(p, { kind: "result", id: m.tool_call_id, result: p.kind === "text" ? parseJson(p.text) : p.value });
  if (m.finish_reason) parts.finish = m.finish_reason;
  return { role, parts, finish: m.finish_reason };
}

function messageList(value) {
  const v = parseJson(value);
  if (Array.isArray(v) && v.length && v.every((m) => m && typeof m === "object" && ("role" in m || "parts" in m || "kind" in m)))
    return v.map(normalizeMessage).filter(Boolean);
  if (v && typeof v === "object" && !Array.isArray(v) && ("messages" in v || "system" in v || "prompt" in v)) {
    // The Vercel AI SDK's ai.prompt: {system, prompt, messages}.
    const out = [];
    if (v.system) out.push({ role: "system", parts: [{ kind: "text", text: String(v.system) }] });
    if (v.prompt) out.push({ role: "user", parts: [{ kind: "text", text: typeof v.prompt === "string" ? v.prompt : JSON.stringify(v.prompt) }] });
    if (Array.isArray(v.messages)) out.push(...v.messages.map(normalizeMessage).filter(Boolean));
    return out.length ? out : null;
  }
  return null;
}

/** Flattened messages: prefix.N.role / .content (OpenLLMetry), prefix.N.message.role ... (OpenInference). */
function flattened(attributes, prefix) {
  const byIndex = new Map();
  for (const [key, value] of Object.entries(attributes)) {
    if (!key.startsWith(prefix)) continue;
    const m = key.slice(prefix.length).match(/^(\d+)\.(.*)$/);
    if (!m) continue;
    if (!byIndex.has(+m[1])) byIndex.set(+m[1], {});
    byIndex.get(+m[1])[m[2].replace(/^message\./, "")] = value;
  }
  if (!byIndex.size) return null;
  return [...byIndex.entries()].sort((a, b) => a[0] - b[0]).map(([, f]) => {
    const parts = [];
    if (f.content !== undefined) parts.push(typeof f.content === "string" ? { kind: "text", text: f.content } : { kind: "data", value: f.content });
    const contents = new Map(), calls = new Map();
    for (const [k, v] of Object.entries(f)) {
      let c = k.match(/^contents\.(\d+)\.message_content\.(\w+)$/);
      if (c) { if (!contents.has(+c[1])) contents.set(+c[1], {}); contents.get(+c[1])[c[2]] = v; continue; }
      c = k.match(/^tool_calls\.(\d+)\.(?:tool_call\.)?(?:function\.)?(\w+)$/);
      if (c) { if (!calls.has(+c[1])) calls.set(+c[1], {}); calls.get(+c[1])[c[2]] = v; }
    }
    for (const [, c] of [...contents].sort((a, b) => a[0] - b[0])) if (c.text !== undefined) parts.push({ kind: "text", text: c.text });
    for (const [, c] of [...calls].sort((a, b) => a[0] - b[0])) parts.push({ kind: "call", id: c.id, name: c.name, args: parseJson(c.arguments) });
    const role = f.role || "message";
    if (role === "tool" && f.tool_call_id) for (const p of parts) if (p.kind === "text") Object.assign(p, { kind: "result", id: f.tool_call_id, result: parseJson(p.text) });
    return { role, parts, finish: f.finish_reason };
  });
}

const INPUT_KEYS = ["gen_ai.input.messages", "gen_ai.prompt", "ai.prompt.messages", "ai.prompt", "pydantic_ai.all_messages", "all_messages_events", "llm.input_messages"];
const OUTPUT_KEYS = ["gen_ai.output.messages", "gen_ai.completion", "llm.output_messages"];

/** A node's conversation: {input, output}, each a list of messages or null. */
export function conversation(node) {
  const a = node.attributes || {};
  const find = (keys, flatPrefixes, fallback) => {
    for (const key of keys) if (key in a) { const list = messageList(a[key]); if (list) return list; }
    for (const prefix of flatPrefixes) { const list = flattened(a, prefix); if (list) return list; }
    return fallback !== null && fallback !== undefined ? messageList(fallback) : null;
  };
  let output = find(OUTPUT_KEYS, ["llm.output_messages.", "gen_ai.completion."], node.output);
  if (!output) {
    // The Vercel AI SDK's answer: text and tool calls in separate keys.
    const parts = [];
    if (typeof a["ai.response.text"] === "string" && a["ai.response.text"]) parts.push({ kind: "text", text: a["ai.response.text"] });
    const calls = parseJson(a["ai.response.toolCalls"]);
    if (Array.isArray(calls)) for (const c of calls) parts.push({ kind: "call", id: c.toolCallId, name: c.toolName, args: parseJson(c.args ?? c.input) });
    if (parts.length) output = [{ role: "assistant", parts }];
  }
  return { input: find(INPUT_KEYS, ["llm.input_messages.", "gen_ai.prompt."], node.input), output };
}

export function Json({ value }) {
  const v = parseJson(value);
  if (typeof v === "string") return html`<pre class="text">${v}</pre>`;
  return html`<pre class="json">${JSON.stringify(v, null, 2)}</pre>`;
}

function Part({ p }) {
  if (p.kind === "text") return html`<div class="content">${p.text}</div>`;
  if (p.kind === "reasoning") return html`<details><summary class="muted">reasoning</summary><div class="content">${p.text}</div></details>`;
  if (p.kind === "call")
    return html`<div class="toolcall">→ tool call <span class="tname">${p.name || "?"}</span>${p.id ? html` <span class="muted mono">${p.id}</span>` : ""}<${Json} value=${p.args ?? {}} /></div>`;
  if (p.kind === "result")
    return html`<div class="toolcall">← result${p.name ? html` of <span class="tname">${p.name}</span>` : ""}${p.id ? html` <span class="muted mono">${p.id}</span>` : ""}<${Json} value=${p.result} /></div>`;
  return html`<${Json} value=${p.value} />`;
}

export function Conversation({ messages }) {
  return html`<div class="chat">${messages.map(
    (m) => html`<div class=${"msg " + m.role}>
      <div class="role">${m.role}${m.finish ? html` <span class="muted">· ${m.finish}</span>` : ""}</div>
      ${m.parts.map((p) => html`<${Part} p=${p} />`)}
    </div>`,
  )}</div>`;
}

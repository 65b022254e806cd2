// Run the Vercel AI SDK (package `ai`) with telemetry on, against its own mock models, and export
// the spans it records to agentlog (or any OTLP/HTTP receiver).
//
//   node vercel_ai.mjs --protocol json|proto --endpoint URL --run-tag TAG [--sdk v6,v5]
//
// json:  OTLP/HTTP+JSON     (@opentelemetry/exporter-trace-otlp-http),  URL like http://127.0.0.1:4318/v1/traces
// proto: OTLP/HTTP+protobuf (@opentelemetry/exporter-trace-otlp-proto), URL like http://127.0.0.1:4318/v1/traces
// --sdk: which lines of the SDK to run, in order: v6 (package `ai`), v5 (package `ai5`, an npm alias of ai@5).
//
// Each line runs the same scenarios, each its own trace (its own run in agentlog; stream_text_tool two):
//   generate_text_tool   generateText, one tool, two steps (tool call, then text); cache read + write tokens
//   stream_text_tool     streamText from messages, one tool, two steps
//   generate_object      generateObject with a zod schema
//   embed / embed_many   embed one value; embedMany three values (two doEmbed calls)
//   tool_error           generateText whose tool throws; the model then answers anyway
//   model_error          generateText whose model call throws (caught here)
// Every call has experimental_telemetry { isEnabled, functionId, metadata: { userId, sessionId, runTag, scenario, sdkLine } }
// with userId `user-<run tag>` and sessionId `session-<run tag>-<line>`, so a test can find its runs.
//
// On success prints one JSON line to stdout: the protocol, the number of spans exported, and per line the
// package version and each scenario's traces as [{trace_id, root: the root span's name}] (streamText's tool
// span is a trace of its own: see stream_text_tool below); exits 0. On any export failure it says why on stderr
// and exits non-zero.

import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';

import { DiagLogLevel, diag } from '@opentelemetry/api';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import * as ai6 from 'ai';
import * as ai5 from 'ai5';
import * as ai6test from 'ai/test';
import * as ai5test from 'ai5/test';
import { z } from 'zod';

const EXPORT_SUCCESS = 0; // ExportResultCode.SUCCESS in @opentelemetry/core
const EXPORTERS = { proto: ProtoExporter, json: JsonExporter };
const require = createRequire(import.meta.url);

function fail(message, code = 1) {
  console.error(`vercel_ai.mjs: ${message}`);
  process.exit(code);
}

// A hung connection must not outlive the caller's own timeout.
setTimeout(() => fail('timed out after 45 s', 3), 45_000).unref();

let args;
try {
  ({ values: args } = parseArgs({
    options: {
      protocol: { type: 'string' },
      endpoint: { type: 'string' },
      'run-tag': { type: 'string' },
      sdk: { type: 'string', default: 'v6,v5' },
    },
    strict: true,
  }));
} catch (error) {
  fail(`${error.message}\nusage: node vercel_ai.mjs --protocol json|proto --endpoint URL --run-tag TAG [--sdk v6,v5]`, 2);
}
const { protocol, endpoint } = args;
const runTag = args['run-tag'];
const lines = args.sdk.split(',').filter(Boolean);
if (!Object.hasOwn(EXPORTERS, protocol ?? '')) fail(`--protocol must be json or proto (got ${protocol})`, 2);
if (!endpoint) fail('--endpoint URL is required', 2);
if (!runTag) fail('--run-tag TAG is required', 2);
if (lines.length === 0 || lines.some((line) => !['v5', 'v6'].includes(line))) {
  fail(`--sdk must list v6 and/or v5, comma separated (got ${args.sdk})`, 2);
}

// The exporters report a partial success and most transport errors only through diag.
const diagProblems = [];
diag.setLogger(
  {
    error: (...parts) => {
      diagProblems.push(parts.join(' '));
      console.error('otel error:', ...parts);
    },
    warn: (...parts) => {
      diagProblems.push(parts.join(' '));
      console.error('otel warn:', ...parts);
    },
    info: () => {},
    debug: () => {},
    verbose: () => {},
  },
  DiagLogLevel.WARN,
);

/** Wraps the real exporter to see each export's result, which the processors swallow. */
class RecordingExporter {
  constructor(inner) {
    this.inner = inner;
    this.exportedSpans = 0;
    this.failures = [];
  }

  export(spans, resultCallback) {
    this.inner.export(spans, (result) => {
      if (result.code === EXPORT_SUCCESS) {
        this.exportedSpans += spans.length;
      } else {
        this.failures.push(result.error ? String(result.error.stack ?? result.error) : `result code ${result.code}`);
      }
      resultCallback(result);
    });
  }

  forceFlush() {
    return this.inner.forceFlush ? this.inner.forceFlush() : Promise.resolve();
  }

  shutdown() {
    return this.inner.shutdown();
  }
}

/** Counts the spans that end, and notes each trace (its id and root span) under the scenario its root names. */
class ScenarioRecorder {
  constructor() {
    this.endedSpans = 0;
    this.traces = {}; // sdk line -> scenario -> [{ trace_id, root }]
  }

  onStart() {}

  onEnd(span) {
    this.endedSpans += 1;
    if (span.parentSpanContext) return;
    const line = span.attributes['ai.telemetry.metadata.sdkLine'];
    const scenario = span.attributes['ai.telemetry.metadata.scenario'];
    const scenarios = (this.traces[line] ??= {});
    (scenarios[scenario] ??= []).push({ trace_id: span.spanContext().traceId, root: span.name });
  }

  forceFlush() {
    return Promise.resolve();
  }

  shutdown() {
    return Promise.resolve();
  }
}

const exporter = new RecordingExporter(new EXPORTERS[protocol]({ url: endpoint, timeoutMillis: 10_000 }));
const recorder = new ScenarioRecorder();
const provider = new NodeTracerProvider({
  resource: defaultResource().merge(resourceFromAttributes({ 'service.name': 'vercel-ai-agent' })),
  // All spans in one request at forceFlush, as an agent's batch would be.
  spanProcessors: [recorder, new BatchSpanProcessor(exporter, { scheduledDelayMillis: 60_000, maxExportBatchSize: 2048 })],
});
// The AI SDK asks the global API for tracer `ai`, and nests spans through the active context:
// register() installs this provider and Node's AsyncLocalStorage context manager, as NodeSDK would.
provider.register();

const FIXED_DATE = new Date('2026-01-15T10:00:00.000Z');

/** Usage of one model call, in each line's own shape. */
function usage(line, { input, output, cacheRead = 0, cacheWrite = 0 }) {
  if (line === 'v6') {
    return {
      inputTokens: { total: input, noCache: input - cacheRead - cacheWrite, cacheRead, cacheWrite },
      outputTokens: { total: output, text: output, reasoning: 0 },
    };
  }
  // v5 (LanguageModelV2Usage) has cache reads only; no cache-write field.
  return { inputTokens: input, outputTokens: output, totalTokens: input + output, cachedInputTokens: cacheRead };
}

const finishReason = (line, reason) => (line === 'v6' ? { unified: reason, raw: reason } : reason);

/** One doGenerate result: text and/or tool calls. */
function generated(line, { text, toolCalls = [], reason, tokens, id }) {
  const content = [];
  if (text !== undefined) content.push({ type: 'text', text });
  for (const call of toolCalls) {
    content.push({ type: 'tool-call', toolCallId: call.id, toolName: call.name, input: JSON.stringify(call.input) });
  }
  return {
    content,
    finishReason: finishReason(line, reason),
    usage: usage(line, tokens),
    warnings: [],
    response: { id, modelId: 'mock-model-2026-01-15', timestamp: FIXED_DATE },
  };
}

/** One doStream result: the stream parts of a step that emits text and/or tool calls. */
function streamed(sdk, line, { text, toolCalls = [], reason, tokens, id }) {
  const chunks = [
    { type: 'stream-start', warnings: [] },
    { type: 'response-metadata', id, modelId: 'mock-model-2026-01-15', timestamp: FIXED_DATE },
  ];
  if (text !== undefined) {
    const words = text.split(/(?<= )/);
    chunks.push({ type: 'text-start', id: 'text-1' });
    for (const word of words) chunks.push({ type: 'text-delta', id: 'text-1', delta: word });
    chunks.push({ type: 'text-end', id: 'text-1' });
  }
  for (const call of toolCalls) {
    chunks.push({ type: 'tool-call', toolCallId: call.id, toolName: call.name, input: JSON.stringify(call.input) });
  }
  chunks.push({ type: 'finish', finishReason: finishReason(line, reason), usage: usage(line, tokens) });
  return { stream: sdk.simulateReadableStream({ chunks }) };
}

const weatherInput = z.object({ city: z.string().describe('The city to look up') });

/** Runs every scenario on one line of the SDK. */
async function runLine(line) {
  const sdk = line === 'v6' ? ai6 : ai5;
  const mocks = line === 'v6' ? ai6test : ai5test;
  const MockLanguageModel = line === 'v6' ? mocks.MockLanguageModelV3 : mocks.MockLanguageModelV2;
  const MockEmbeddingModel = line === 'v6' ? mocks.MockEmbeddingModelV3 : mocks.MockEmbeddingModelV2;
  const { generateText, streamText, generateObject, embed, embedMany, tool, stepCountIs } = sdk;

  const telemetry = (functionId, scenario) => ({
    isEnabled: true,
    functionId,
    metadata: { userId: `user-${runTag}`, sessionId: `session-${runTag}-${line}`, runTag, scenario, sdkLine: line },
  });
  const model = (options) => new MockLanguageModel({ provider: 'mock-provider.chat', modelId: 'mock-model', ...options });
  const weatherTool = tool({
    description: 'Current weather in a city',
    inputSchema: weatherInput,
    execute: async ({ city }) => ({ city, forecast: 'sunny', celsius: 21 }),
  });

  // (a) generateText: a tool call, then the answer; cache read and write tokens on the first step.
  await generateText({
    model: model({
      doGenerate: [
        generated(line, {
          toolCalls: [{ id: 'call-weather-1', name: 'weather', input: { city: 'Paris' } }],
          reason: 'tool-calls',
          tokens: { input: 10, output: 5, cacheRead: 4, cacheWrite: 2 },
          id: 'resp-a1',
        }),
        generated(line, {
          text: 'It is sunny in Paris, 21°C.',
          reason: 'stop',
          tokens: { input: 12, output: 7, cacheRead: 6 },
          id: 'resp-a2',
        }),
      ],
    }),
    system: 'You are a weather assistant.',
    prompt: 'What is the weather in Paris?',
    tools: { weather: weatherTool },
    stopWhen: stepCountIs(2),
    experimental_telemetry: telemetry('weather-agent', 'generate_text_tool'),
  });

  // (b) streamText from messages: a tool call, then the answer. The SDK runs the tool while the stream is
  // consumed, in the consumer's context: consumed here outside any span, its ai.toolCall span is a trace of its own.
  const stream = streamText({
    model: model({
      doStream: [
        streamed(sdk, line, {
          toolCalls: [{ id: 'call-weather-2', name: 'weather', input: { city: 'Berlin' } }],
          reason: 'tool-calls',
          tokens: { input: 20, output: 8, cacheRead: 5 },
          id: 'resp-b1',
        }),
        streamed(sdk, line, {
          text: 'Berlin is sunny today, 21°C.',
          reason: 'stop',
          tokens: { input: 30, output: 9 },
          id: 'resp-b2',
        }),
      ],
    }),
    system: 'You are a weather assistant.',
    messages: [{ role: 'user', content: [{ type: 'text', text: 'Is it sunny in Berlin?' }] }],
    tools: { weather: weatherTool },
    stopWhen: stepCountIs(2),
    experimental_telemetry: telemetry('weather-streamer', 'stream_text_tool'),
  });
  await stream.consumeStream();
  await stream.text;

  // (c) generateObject.
  await generateObject({
    model: model({
      doGenerate: generated(line, {
        text: JSON.stringify({ name: 'Pancakes', ingredients: ['flour', 'milk', 'eggs'] }),
        reason: 'stop',
        tokens: { input: 15, output: 11 },
        id: 'resp-c1',
      }),
    }),
    schema: z.object({ name: z.string(), ingredients: z.array(z.string()) }),
    prompt: 'Extract the recipe: pancakes need flour, milk and eggs.',
    experimental_telemetry: telemetry('recipe-extractor', 'generate_object'),
  });

  // (d) embed and embedMany (two values per call: three values make two doEmbed calls).
  const embeddingModel = new MockEmbeddingModel({
    provider: 'mock-provider.embedding',
    modelId: 'mock-embedding-model',
    maxEmbeddingsPerCall: 2,
    doEmbed: async ({ values }) => ({
      embeddings: values.map((_, index) => [0.5, index + 0.25]),
      usage: { tokens: 3 * values.length },
      warnings: [],
    }),
  });
  await embed({
    model: embeddingModel,
    value: 'sunny day in Paris',
    experimental_telemetry: telemetry('doc-embedder', 'embed'),
  });
  await embedMany({
    model: embeddingModel,
    values: ['sunny day', 'rainy day', 'snowy day'],
    experimental_telemetry: telemetry('doc-embedder', 'embed_many'),
  });

  // (e) generateText whose tool throws: the SDK turns the error into a tool result and goes on.
  // The answering model call takes a few milliseconds, as a real one does: the JS SDK dates a span's
  // start in whole milliseconds, so an instant mock answer could seem to end before the failed tool
  // it follows (agentlog then reads the run as ending on that failure; see the closing notes).
  const toolErrorSteps = [
    generated(line, {
      toolCalls: [{ id: 'call-weather-3', name: 'weather', input: { city: 'Atlantis' } }],
      reason: 'tool-calls',
      tokens: { input: 10, output: 5 },
      id: 'resp-e1',
    }),
    generated(line, {
      text: 'Sorry, the weather service is unavailable.',
      reason: 'stop',
      tokens: { input: 14, output: 6 },
      id: 'resp-e2',
    }),
  ];
  let toolErrorStep = 0;
  await generateText({
    model: model({
      doGenerate: async () => {
        const result = toolErrorSteps[toolErrorStep++];
        if (toolErrorStep > 1) await new Promise((resolve) => setTimeout(resolve, 5));
        return result;
      },
    }),
    prompt: 'What is the weather in Atlantis?',
    tools: {
      weather: tool({
        description: 'Current weather in a city',
        inputSchema: weatherInput,
        execute: async ({ city }) => {
          throw new Error(`weather service unavailable for ${city}`);
        },
      }),
    },
    stopWhen: stepCountIs(2),
    experimental_telemetry: telemetry('flaky-tool-agent', 'tool_error'),
  });

  // (f) generateText whose model call throws.
  let modelError;
  try {
    await generateText({
      model: model({
        doGenerate: async () => {
          throw new Error('model overloaded');
        },
      }),
      prompt: 'Say hello.',
      maxRetries: 0,
      experimental_telemetry: telemetry('broken-model-agent', 'model_error'),
    });
  } catch (error) {
    modelError = error;
  }
  if (!modelError) fail(`${line}: the failing model call did not throw`);
}

const versions = {
  v6: require('ai/package.json').version,
  v5: require('ai5/package.json').version,
};
for (const line of lines) {
  try {
    await runLine(line);
  } catch (error) {
    fail(`${line} (ai@${versions[line]}) scenario raised: ${error?.stack ?? error}`);
  }
}

try {
  await provider.forceFlush();
  await provider.shutdown();
} catch (error) {
  exporter.failures.push(`flush/shutdown raised: ${error?.stack ?? error}`);
}

const problems = [...exporter.failures, ...diagProblems];
if (exporter.exportedSpans !== recorder.endedSpans) {
  problems.push(`exported ${exporter.exportedSpans} of ${recorder.endedSpans} spans`);
}
if (problems.length > 0) {
  fail(`${protocol} export to ${endpoint} failed:\n  ${problems.join('\n  ')}`);
}

console.log(
  JSON.stringify({
    protocol,
    run_tag: runTag,
    exported_spans: exporter.exportedSpans,
    sdk: Object.fromEntries(lines.map((line) => [line, { version: versions[line], scenarios: recorder.traces[line] }])),
  }),
);
process.exit(0);

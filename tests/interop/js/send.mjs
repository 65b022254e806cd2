// Send one small agent-like trace to agentlog with the OpenTelemetry JS SDK.
//
//   node send.mjs --protocol grpc|proto|json --endpoint URL --run-tag TAG
//
// grpc:  OTLP/gRPC      (@opentelemetry/exporter-trace-otlp-grpc),  URL like http://127.0.0.1:4317
// proto: OTLP/HTTP+protobuf (@opentelemetry/exporter-trace-otlp-proto), URL like http://127.0.0.1:4318/v1/traces
// json:  OTLP/HTTP+JSON (@opentelemetry/exporter-trace-otlp-http),  URL like http://127.0.0.1:4318/v1/traces
//
// On success prints one JSON line to stdout (the ids and times it generated, so the
// caller can look the spans up and compare) and exits 0. On any export failure,
// including a partial success, it prints why to stderr and exits non-zero.

import { parseArgs } from 'node:util';

import { DiagLogLevel, ROOT_CONTEXT, SpanKind, SpanStatusCode, diag, trace } from '@opentelemetry/api';
import { OTLPTraceExporter as GrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';

const RUN_TAG_KEY = 'agentlog.test.run_tag';
const EXPECTED_SPANS = 2;
const EXPORT_SUCCESS = 0; // ExportResultCode.SUCCESS in @opentelemetry/core
const EXPORTERS = { grpc: GrpcExporter, proto: ProtoExporter, json: JsonExporter };

function fail(message, code = 1) {
  console.error(`send.mjs: ${message}`);
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
    },
    strict: true,
  }));
} catch (error) {
  fail(`${error.message}\nusage: node send.mjs --protocol grpc|proto|json --endpoint URL --run-tag TAG`, 2);
}
const { protocol, endpoint } = args;
const runTag = args['run-tag'];
if (!Object.hasOwn(EXPORTERS, protocol ?? '')) fail(`--protocol must be one of grpc, proto, json (got ${protocol})`, 2);
if (!endpoint) fail('--endpoint URL is required', 2);
if (!runTag) fail('--run-tag TAG is required', 2);

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

const exporter = new RecordingExporter(new EXPORTERS[protocol]({ url: endpoint, timeoutMillis: 10_000 }));
const provider = new BasicTracerProvider({
  // The 2.x provider takes the resource as given; merging keeps telemetry.sdk.* as NodeSDK would.
  resource: defaultResource().merge(resourceFromAttributes({ 'service.name': 'js-agent' })),
  // One request with both spans, sent at forceFlush, as an agent's batch would be.
  spanProcessors: [new BatchSpanProcessor(exporter, { scheduledDelayMillis: 60_000, maxExportBatchSize: 512 })],
});
const tracer = provider.getTracer('js-triager-agent', '0.3.1');

// No context manager is registered, so the parent is passed explicitly.
const root = tracer.startSpan('invoke_agent js-triager', {
  kind: SpanKind.INTERNAL,
  attributes: {
    'gen_ai.operation.name': 'invoke_agent',
    'gen_ai.agent.name': 'js-triager',
    [RUN_TAG_KEY]: runTag,
  },
});
const child = tracer.startSpan(
  'chat gpt-4o',
  {
    kind: SpanKind.CLIENT,
    attributes: {
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': 'gpt-4o',
      'gen_ai.usage.input_tokens': 1234,
      'gen_ai.usage.output_tokens': 0,
      'gen_ai.request.temperature': 0.25,
      'gen_ai.request.stream': true,
      'agentlog.test.cached': false,
      'gen_ai.response.finish_reasons': ['stop', 'length'],
      [RUN_TAG_KEY]: runTag,
    },
  },
  trace.setSpan(ROOT_CONTEXT, root),
);
const error = new Error('429 Too Many Requests');
error.name = 'RateLimitError';
child.recordException(error);
child.setStatus({ code: SpanStatusCode.ERROR, message: 'model refused: rate limited' });
child.end();
root.end();

try {
  await provider.forceFlush();
  await provider.shutdown();
} catch (error) {
  exporter.failures.push(`flush/shutdown raised: ${error?.stack ?? error}`);
}

const problems = [...exporter.failures, ...diagProblems];
if (exporter.exportedSpans !== EXPECTED_SPANS) {
  problems.push(`exported ${exporter.exportedSpans} of ${EXPECTED_SPANS} spans`);
}
if (problems.length > 0) {
  fail(`${protocol} export to ${endpoint} failed:\n  ${problems.join('\n  ')}`);
}

// HrTime [seconds, nanoseconds] -> decimal string of Unix nanoseconds (past 2^53, so no Number).
const nanos = ([seconds, nanoseconds]) => String(BigInt(seconds) * 1_000_000_000n + BigInt(nanoseconds));
const describe = (span) => ({
  span_id: span.spanContext().spanId,
  start_time_unix_nano: nanos(span.startTime),
  end_time_unix_nano: nanos(span.endTime),
  event_times_unix_nano: span.events.map((event) => nanos(event.time)),
});
console.log(
  JSON.stringify({
    protocol,
    exported_spans: exporter.exportedSpans,
    trace_id: root.spanContext().traceId,
    root: describe(root),
    child: describe(child),
  }),
);
process.exit(0);

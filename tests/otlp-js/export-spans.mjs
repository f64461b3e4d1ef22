// Makes spans with the OpenTelemetry JS SDK and exports them with its OTLP/HTTP exporter, which
// sends OTLP/JSON. Used by the aggregator's tests as a real client:
//   node export-spans.mjs plan.json
// plan.json: {"url", "token", "resource": {attr: value}, "exports": N,
//             "spans": [{"name", "kind": "client|server|internal", "startMs", "endMs", "attributes": {}, "error": bool}]}
// Every span is exported N times in one batch each (a re-export sends the same trace and span ids).
// Prints one line per export and exits 1 if any failed.
import { readFileSync } from "node:fs";
import { SpanKind, SpanStatusCode } from "@opentelemetry/api";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BasicTracerProvider } from "@opentelemetry/sdk-trace-base";

const plan = JSON.parse(readFileSync(process.argv[2], "utf8"));
const ended = [];
const provider = new BasicTracerProvider({
  resource: resourceFromAttributes(plan.resource),
  // Keeps the finished spans, so that the same spans can be exported more than once.
  spanProcessors: [{ onStart() {}, onEnd(span) { ended.push(span); }, forceFlush: async () => {}, shutdown: async () => {} }],
});
const tracer = provider.getTracer("agentmeter-tests");
const kinds = { client: SpanKind.CLIENT, server: SpanKind.SERVER, internal: SpanKind.INTERNAL };
for (const s of plan.spans) {
  const span = tracer.startSpan(s.name, { kind: kinds[s.kind ?? "internal"], attributes: s.attributes, startTime: s.startMs });
  if (s.error) span.setStatus({ code: SpanStatusCode.ERROR, message: "failed" });
  span.end(s.endMs);
}

const exporter = new OTLPTraceExporter({ url: plan.url, headers: { Authorization: `Bearer ${plan.token}` } });
let failed = false;
for (let i = 0; i < (plan.exports ?? 1); i++) {
  const result = await new Promise((resolve) => exporter.export(ended, resolve));
  console.log(`export ${i + 1}: ${ended.length} spans, code ${result.code}${result.error ? `, ${result.error.message}` : ""}`);
  failed ||= result.code !== 0;
}
await exporter.shutdown();
process.exit(failed ? 1 : 0);

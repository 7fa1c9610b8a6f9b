import test from 'ava';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { InferenceClient } from '@switchyard/client';
import { linearModel, startEtcd, waitFor, type EtcdProcess } from '@switchyard/testkit';
import { TestCluster } from './helpers/cluster.js';

// Traces end to end: a real OTLP/HTTP endpoint started here receives the
// node's spans (configured by the standard OTEL_* variables), and each
// ModelInfer span is the child of the caller's span: the client package's
// over gRPC, a traceparent header over REST.

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  links?: { traceId: string; spanId: string }[];
  name: string;
  attributes: { key: string; value: { stringValue?: string } }[];
}

let etcd: EtcdProcess;
let cluster: TestCluster;
let receiver: Server;
const received: OtlpSpan[] = [];

test.before(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.url === '/v1/traces') {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { resourceSpans: { scopeSpans: { spans: OtlpSpan[] }[] }[] };
        for (const rs of body.resourceSpans) for (const ss of rs.scopeSpans) received.push(...ss.spans);
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/v1/traces`;
  process.env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL = 'http/json';
  process.env.OTEL_BSP_SCHEDULE_DELAY = '50';
  etcd = await startEtcd();
  cluster = await TestCluster.start({ etcd, nodes: 1, nodeOptions: { httpListen: '127.0.0.1:0', shadow: { busyThreshold: 1 } } });
  await cluster.deploy('linear', linearModel({ weights: [1, 2, 3], bias: 0 }));
  // A shadow of every request, so each answered request is replayed on v2.
  const v2 = await cluster.createVersion('linear', linearModel({ weights: [1, 2, 3.5], bias: 0 }));
  await cluster.adminCall('AddShadow', { model: 'linear', version: v2, fraction: 1 });
  await waitFor(() => cluster.nodes[0]!.table.versions.has(`linear/${v2}`), { timeoutMs: 15_000, message: 'the shadow version loaded' });
});
test.after.always(async () => {
  await cluster?.stop();
  await etcd?.destroy();
  receiver?.close();
});

async function spanOf(traceId: string, what: string): Promise<OtlpSpan> {
  await waitFor(() => received.some((s) => s.traceId === traceId), { timeoutMs: 10_000, message: what });
  return received.find((s) => s.traceId === traceId)!;
}

const attribute = (span: OtlpSpan, key: string) => span.attributes.find((a) => a.key === key)?.value.stringValue;

test.serial('client → node over gRPC: the node span is the child of the span active where infer was called', async (t) => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  const exporter = new InMemorySpanExporter();
  const tracer = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] }).getTracer('test');
  const client = await InferenceClient.create({ nodes: [cluster.nodes[0]!.address] });
  t.teardown(() => client.close());
  const parent = tracer.startSpan('checkout');
  await context.with(trace.setSpan(context.active(), parent), () =>
    client.infer('linear', [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: Float32Array.from([1, 1, 1]) }]),
  );
  parent.end();
  const { traceId, spanId } = parent.spanContext();
  const span = await spanOf(traceId, 'the node span reached the OTLP endpoint');
  t.is(span.name, 'ModelInfer');
  t.is(span.parentSpanId, spanId);
  t.is(attribute(span, 'switchyard.model'), 'linear');
  t.is(attribute(span, 'switchyard.version'), 'v1');
  t.is(attribute(span, 'switchyard.node'), cluster.nodes[0]!.id);

  // The shadow call: its own span, linked to the node's span, not its child.
  await waitFor(() => received.some((s) => s.name === 'shadow ModelInfer' && s.links?.some((l) => l.spanId === span.spanId)), {
    timeoutMs: 10_000,
    message: 'the shadow span, linked to the primary, reached the OTLP endpoint',
  });
  const shadow = received.find((s) => s.name === 'shadow ModelInfer' && s.links?.some((l) => l.spanId === span.spanId))!;
  t.not(shadow.traceId, traceId);
  t.falsy(shadow.parentSpanId);
  t.is(attribute(shadow, 'switchyard.version'), 'v2');
  t.is(attribute(shadow, 'switchyard.primary_version'), 'v1');
});

test.serial('REST: the traceparent header makes the node span a child of the caller', async (t) => {
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  const parentId = '00f067aa0ba902b7';
  const res = await fetch(`http://${cluster.nodes[0]!.httpAddress!}/v2/models/linear/infer`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', traceparent: `00-${traceId}-${parentId}-01` },
    body: JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] }] }),
  });
  t.is(res.status, 200);
  const span = await spanOf(traceId, 'the REST span reached the OTLP endpoint');
  t.is(span.parentSpanId, parentId);
  t.is(span.name, 'ModelInfer');
});

import test from 'ava';
import * as grpc from '@grpc/grpc-js';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { InferenceClient } from '@switchyard/client';
import { encodeRaw, FORWARDED_METADATA_KEY, type ModelInferResponse } from '@switchyard/core';
import { linearModel, startEtcd, waitFor, type EtcdProcess } from '@switchyard/testkit';
import { TestCluster } from './helpers/cluster.js';

// Traces end to end: a real OTLP/HTTP endpoint started here receives the
// node's spans (configured by the standard OTEL_* variables), and each
// ModelInfer span is the child of the caller's span: the client package's
// over gRPC, a traceparent header over REST. Its queue wait and run are its
// children; a request a node forwards has a CLIENT span for the hop, parent
// of the serving node's ModelInfer span. Two nodes, and models placed by the
// control plane's own placer (density), so a node can lack a version.

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  links?: { traceId: string; spanId: string }[];
  name: string;
  kind?: number;
  attributes: { key: string; value: { stringValue?: string; intValue?: number | string } }[];
}

/** OTLP's span kinds. */
const SERVER = 2;
const CLIENT = 3;

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
  cluster = await TestCluster.start({ etcd, nodes: 2, placeEverywhere: false, nodeOptions: { httpListen: '127.0.0.1:0', shadow: { busyThreshold: 1 } } });
  await cluster.admin.createModel({ name: 'linear', placement: { min_copies: 2, max_copies: 0, always_resident: false } });
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

/** The spans of a trace, once `count` of them have arrived. */
async function spansOf(traceId: string, count: number, what: string): Promise<OtlpSpan[]> {
  await waitFor(() => received.filter((s) => s.traceId === traceId).length >= count, { timeoutMs: 10_000, message: what });
  return received.filter((s) => s.traceId === traceId);
}

async function spanOf(traceId: string, what: string): Promise<OtlpSpan> {
  return (await spansOf(traceId, 3, what)).find((s) => s.name === 'ModelInfer')!;
}

const attribute = (span: OtlpSpan, key: string) => span.attributes.find((a) => a.key === key)?.value.stringValue;
const intAttribute = (span: OtlpSpan, key: string) => Number(span.attributes.find((a) => a.key === key)?.value.intValue);
const childrenOf = (span: OtlpSpan) => received.filter((s) => s.parentSpanId === span.spanId).sort((a, b) => (a.name < b.name ? -1 : 1));

function inferTraced(node: number, model: string, traceparent: string, forwarded = false): Promise<ModelInferResponse> {
  const client = cluster.nodeClients[node]! as unknown as Record<string, Function>;
  const metadata = new grpc.Metadata();
  if (traceparent) metadata.set('traceparent', traceparent);
  if (forwarded) metadata.set(FORWARDED_METADATA_KEY, 'the-test');
  const request = { model_name: model, model_version: '', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3] }], raw_input_contents: [encodeRaw(Float32Array.from([1, 2, 3]))] };
  return new Promise((resolve, reject) =>
    client['ModelInfer']!.call(client, request, metadata, { deadline: Date.now() + 20_000 }, (err: grpc.ServiceError | null, res: ModelInferResponse) => (err ? reject(err) : resolve(res))),
  );
}

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
  t.is(span.kind, SERVER);

  // Its queue wait and its run, as its children; the run names its batch (one request of one row here).
  const [compute, queue] = childrenOf(span);
  t.deepEqual([compute?.name, queue?.name], ['compute', 'queue']);
  t.is(intAttribute(compute!, 'switchyard.batch.size'), 1);
  t.is(intAttribute(compute!, 'switchyard.batch.requests'), 1);

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

test.serial('a forwarded request: node A has a CLIENT span for the hop, and node B serves it as that span\'s child, with its queue and compute', async (t) => {
  // 'far' has no placed copy: node-2 loads it for a request marked as forwarded already; node-1 then lacks it and forwards.
  await cluster.admin.createModel({ name: 'far', placement: { min_copies: 0, max_copies: 0, always_resident: false } });
  const version = await cluster.createVersion('far', linearModel({ weights: [2, 2, 2], bias: 1 }));
  await cluster.setRoute('far', { [version]: 10_000 });
  await waitFor(async () => {
    try {
      await inferTraced(1, 'far', '', true);
      return true;
    } catch {
      return false; // node-2 has not read the route yet
    }
  }, { timeoutMs: 15_000, message: 'node-2 loaded far' });
  await waitFor(async () => (await cluster.status('node-2', 'far', version))?.state === 'READY', { timeoutMs: 15_000, message: 'far READY on node-2 in etcd' });
  t.false(cluster.nodes[0]!.table.versions.has(`far/${version}`), 'node-1 does not hold far');

  const traceId = '0af7651916cd43dd8448eb211c80319c';
  const parentId = 'b7ad6b7169203331';
  const response = await inferTraced(0, 'far', `00-${traceId}-${parentId}-01`);
  t.is(response.model_version, version);
  t.false(cluster.nodes[0]!.table.versions.has(`far/${version}`), 'node-1 forwarded rather than loading');
  const spans = await spansOf(traceId, 5, 'the spans of both nodes reached the OTLP endpoint');
  const nodeA = spans.find((s) => s.name === 'ModelInfer' && attribute(s, 'switchyard.node') === 'node-1')!;
  const hop = spans.find((s) => s.kind === CLIENT)!;
  const nodeB = spans.find((s) => s.name === 'ModelInfer' && attribute(s, 'switchyard.node') === 'node-2')!;
  t.is(nodeA.parentSpanId, parentId);
  t.is(hop.parentSpanId, nodeA.spanId);
  t.is(attribute(hop, 'switchyard.peer.node'), 'node-2');
  t.is(`${attribute(hop, 'server.address')}:${intAttribute(hop, 'server.port')}`, cluster.nodes[1]!.address);
  t.is(nodeB.parentSpanId, hop.spanId);
  t.is(nodeB.kind, SERVER);
  t.deepEqual(childrenOf(nodeB).map((s) => s.name), ['compute', 'queue']);
  t.deepEqual(childrenOf(nodeA).map((s) => s.name), ['forward ModelInfer'], 'node-1 ran nothing itself');
});

test.serial('a cold start: the wait for the version to load here is a child span of the request, before its queue and compute', async (t) => {
  await cluster.admin.createModel({ name: 'cold', placement: { min_copies: 0, max_copies: 0, always_resident: false } });
  const version = await cluster.createVersion('cold', linearModel({ weights: [1, 1, 1], bias: 0 }));
  await cluster.setRoute('cold', { [version]: 10_000 });
  const traceId = '5b8efff798038103d269b633813fc60c';
  const parentId = 'eee19b7ec3c1b174';
  // Marked as forwarded: node-1 loads it itself, whoever holds it. It may not have read the route yet: NOT_FOUND, then retry.
  await waitFor(() => inferTraced(0, 'cold', `00-${traceId}-${parentId}-01`, true).then(() => true, () => false), { timeoutMs: 15_000, message: 'cold answered' });
  // Refused attempts share the trace: the answered one is the span with children.
  const answered = () => received.find((s) => s.traceId === traceId && s.name === 'ModelInfer' && childrenOf(s).length === 3);
  await waitFor(() => answered() !== undefined, { timeoutMs: 10_000, message: "the cold request's spans reached the OTLP endpoint" });
  const server = answered()!;
  t.deepEqual(childrenOf(server).map((s) => s.name), ['cold load', 'compute', 'queue']);
  t.is(attribute(childrenOf(server)[0]!, 'switchyard.version'), version);
});

import type * as grpc from '@grpc/grpc-js';
import { context, SpanKind, SpanStatusCode, trace, type Context, type Span, type SpanContext, type Tracer } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { splitHostPort, SwitchyardError, type Logger } from '@switchyard/core';
import type { NodeComponent } from './node-component.js';
import type { ShadowRun } from './shadow-mirror.js';
import type { QueueTrace } from './version-queue.js';

/**
 * The spans below one traced request's SERVER span: its queue wait and run
 * (version-queue.ts), and a hop to another node (node-forwarder.ts). Only
 * traced requests have one; the inference path checks for it once.
 */
export interface RequestTrace extends QueueTrace {
  /**
   * Starts a CLIENT span for a hop to node `nodeId` and puts its W3C context
   * in `metadata`, so the other node's SERVER span is its child; call the
   * result when the hop has its answer.
   */
  hop(nodeId: string, address: string, metadata: grpc.Metadata): (error?: unknown) => void;
  /** The request waited from `fromMs` to `toMs` (performance.now) for `version` to load here (a cold start). */
  coldLoad(version: string, fromMs: number, toMs: number, error?: unknown): void;
}

/**
 * OpenTelemetry traces of a node, exported over OTLP/HTTP. Off unless the
 * standard variables ask for it: OTEL_EXPORTER_OTLP_ENDPOINT or
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT set, or OTEL_TRACES_EXPORTER=otlp;
 * OTEL_SDK_DISABLED=true and OTEL_TRACES_EXPORTER=none turn it off. The
 * exporter reads its own OTEL_EXPORTER_OTLP_* settings (headers, time-out).
 * The provider is the node's own, not the global one: several nodes (tests,
 * `switchyard up`) can share a process.
 */
export class NodeTracing implements NodeComponent {
  readonly name = 'tracing';
  readonly tracer: Tracer;
  private readonly provider: TracerProvider;
  /** Each answered request's span, for the shadow runs that replay it later (the request object is the key, so nothing outlives it). */
  readonly requestSpans = new WeakMap<object, SpanContext>();
  /** Each traced request's child spans, by request object, while it is served. */
  readonly requestTraces = new WeakMap<object, RequestTrace>();

  private constructor(nodeId: string, env: NodeJS.ProcessEnv) {
    this.provider = new TracerProvider({
      resource: resourceFromAttributes({ 'service.name': env.OTEL_SERVICE_NAME ?? 'switchyard-node', 'service.instance.id': nodeId }),
      spanProcessors: [new BatchSpanProcessor({ exporter: new OTLPTraceExporter(), ...scheduleDelay(env) })],
    });
    this.tracer = this.provider.getTracer('switchyard-prediction-node');
  }

  /** The node's tracing when the environment configures it; undefined (no cost) otherwise. */
  static fromEnv(nodeId: string, logger: Logger, env: NodeJS.ProcessEnv = process.env): NodeTracing | undefined {
    if (env.OTEL_SDK_DISABLED === 'true') return undefined;
    const exporter = env.OTEL_TRACES_EXPORTER?.trim();
    if (exporter === 'none') return undefined;
    if (exporter !== undefined && exporter !== '' && exporter !== 'otlp') {
      logger.warn('OTEL_TRACES_EXPORTER names an exporter the node does not have; traces stay off (otlp is supported)', { exporter });
      return undefined;
    }
    if (exporter !== 'otlp' && !env.OTEL_EXPORTER_OTLP_ENDPOINT && !env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) return undefined;
    return new NodeTracing(nodeId, env);
  }

  start(): void {}

  /**
   * A shadow run as its own span (a new trace), linked to the primary's span
   * rather than its child: the primary answered before the shadow started,
   * and a child would make the request's trace look as long as both.
   */
  readonly onShadowRun = (run: ShadowRun): void => {
    const primary = this.requestSpans.get(run.served.request);
    const span = this.tracer.startSpan('shadow ModelInfer', {
      kind: SpanKind.INTERNAL,
      startTime: run.startedAtMs,
      root: true,
      links: primary ? [{ context: primary, attributes: { 'switchyard.link': 'primary' } }] : [],
      attributes: { 'switchyard.model': run.shadow.model, 'switchyard.version': run.shadow.version, 'switchyard.primary_version': run.served.loaded.version },
    });
    if (run.error !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: run.error });
    span.end(run.startedAtMs + run.seconds * 1000);
  };

  /** The trace of a request being served; undefined when it is not traced. */
  requestTrace(request: object): RequestTrace | undefined {
    return this.requestTraces.get(request);
  }

  /** Sends the spans still buffered. */
  async stop(): Promise<void> {
    await this.provider.shutdown();
  }
}

/** The standard OTEL_BSP_SCHEDULE_DELAY (ms between exports), which this SDK version no longer reads itself. */
function scheduleDelay(env: NodeJS.ProcessEnv): { scheduledDelayMillis?: number } {
  const ms = Number(env.OTEL_BSP_SCHEDULE_DELAY);
  return env.OTEL_BSP_SCHEDULE_DELAY !== undefined && Number.isFinite(ms) && ms >= 0 ? { scheduledDelayMillis: ms } : {};
}

const w3c = new W3CTraceContextPropagator();
const metadataSetter = { set: (carrier: grpc.Metadata, key: string, value: string) => carrier.set(key, value) };

function setError(span: Span, error: unknown): void {
  span.setStatus({ code: SpanStatusCode.ERROR, message: SwitchyardError.from(error).rawMessage });
}

/** OTel's server.address and server.port of a peer's host:port. */
function serverAttributes(address: string): { 'server.address': string; 'server.port'?: number } {
  try {
    const { host, port } = splitHostPort(address);
    return { 'server.address': host, 'server.port': port };
  } catch {
    return { 'server.address': address };
  }
}

/** The child spans of one request, in the context of its SERVER span (`parent`). */
class SpanTrace implements RequestTrace {
  constructor(
    private readonly tracer: Tracer,
    private readonly parent: Context,
  ) {}

  queued(fromMs: number, toMs: number): void {
    this.tracer.startSpan('queue', { kind: SpanKind.INTERNAL, startTime: fromMs }, this.parent).end(toMs);
  }

  computed(fromMs: number, toMs: number, rows: number, requests: number, error?: unknown): void {
    const span = this.tracer.startSpan(
      'compute',
      { kind: SpanKind.INTERNAL, startTime: fromMs, attributes: { 'switchyard.batch.size': rows, 'switchyard.batch.requests': requests } },
      this.parent,
    );
    if (error !== undefined) setError(span, error);
    span.end(toMs);
  }

  coldLoad(version: string, fromMs: number, toMs: number, error?: unknown): void {
    const span = this.tracer.startSpan('cold load', { kind: SpanKind.INTERNAL, startTime: fromMs, attributes: { 'switchyard.version': version } }, this.parent);
    if (error !== undefined) setError(span, error);
    span.end(toMs);
  }

  hop(nodeId: string, address: string, metadata: grpc.Metadata): (error?: unknown) => void {
    const span = this.tracer.startSpan(
      'forward ModelInfer',
      {
        kind: SpanKind.CLIENT,
        attributes: { 'switchyard.peer.node': nodeId, ...serverAttributes(address), 'rpc.system': 'grpc', 'rpc.method': 'ModelInfer', 'rpc.service': 'inference.GRPCInferenceService' },
      },
      this.parent,
    );
    w3c.inject(trace.setSpan(this.parent, span), metadata, metadataSetter);
    return (error) => {
      if (error !== undefined) setError(span, error);
      span.end();
    };
  }
}
const metadataGetter = {
  keys: (carrier: grpc.Metadata) => Object.keys(carrier.getMap()),
  get: (carrier: grpc.Metadata, key: string) => {
    const values = carrier.get(key);
    return values.length === 0 ? undefined : values.map(String);
  },
};

type Unary = (call: grpc.ServerUnaryCall<{ model_name?: string; model_version?: string }, unknown>, callback: grpc.sendUnaryData<unknown>) => void;

/**
 * The handlers with a SERVER span around each ModelInfer, child of the
 * caller's W3C `traceparent` (gRPC metadata; the REST server copies the HTTP
 * header there). Wrapping the handler, not editing it, keeps tracing out of
 * the hot path when it is off.
 */
export function tracedHandlers(handlers: grpc.UntypedServiceImplementation, tracing: Pick<NodeTracing, 'tracer' | 'requestSpans' | 'requestTraces'>, nodeId: string): grpc.UntypedServiceImplementation {
  const { tracer } = tracing;
  const infer = handlers.ModelInfer as unknown as Unary;
  const traced: Unary = (call, callback) => {
    const parent = w3c.extract(context.active(), call.metadata, metadataGetter);
    const span = tracer.startSpan(
      'ModelInfer',
      {
        kind: SpanKind.SERVER,
        attributes: { 'switchyard.node': nodeId, 'switchyard.model': call.request.model_name ?? '', 'rpc.method': 'ModelInfer', 'rpc.service': 'inference.GRPCInferenceService' },
      },
      parent,
    );
    tracing.requestSpans.set(call.request, span.spanContext());
    const active = trace.setSpan(parent, span);
    tracing.requestTraces.set(call.request, new SpanTrace(tracer, active));
    context.with(active, () =>
      infer(call, (err, value, ...rest) => {
        if (err) {
          const error = SwitchyardError.from(err);
          span.setStatus({ code: SpanStatusCode.ERROR, message: error.rawMessage });
          span.setAttribute('rpc.grpc.status_code', error.code);
        } else {
          span.setAttribute('switchyard.version', (value as { model_version?: string }).model_version ?? '');
          span.setAttribute('rpc.grpc.status_code', 0);
        }
        span.end();
        tracing.requestTraces.delete(call.request);
        callback(err, value, ...(rest as []));
      }),
    );
  };
  return { ...handlers, ModelInfer: traced as unknown as grpc.UntypedHandleCall };
}


import type { AddressInfo } from 'node:net';
import type * as grpc from '@grpc/grpc-js';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { GrpcStatus, readPemFile, splitHostPort, SwitchyardError, unavailable, type Logger, type ServerTlsOptions } from '@switchyard/core';
import type { NodeComponent } from './node-component.js';
import { invokeUnary, type RestConnection } from './rest-call.js';
import { HEADER_LENGTH, parseInferBody, renderInferResponse } from './rest-protocol.js';

/** Options for {@link RestServer}. */
export interface RestServerOptions {
  /** host:port to bind; port 0 picks a free one. */
  listen: string;
  /** The gRPC inference service's handlers (KServe v2 and Triton's extensions); REST calls them. */
  handlers: grpc.UntypedServiceImplementation;
  /** Largest request body, as gRPC's largest message. */
  maxBodyBytes: number;
  /** TLS as the gRPC server's (PEM files); mutual when `clientCaFile` is set. @default plaintext */
  tls?: ServerTlsOptions;
  /** How long in-flight requests may run on stop before their connections are closed. */
  shutdownDeadlineMs: number;
  logger: Logger;
}

/** HTTP status of each gRPC code the handlers answer with; the KServe v2 REST API's 400/404/503 and their kin. */
const HTTP_STATUS: Partial<Record<GrpcStatus, number>> = {
  [GrpcStatus.INVALID_ARGUMENT]: 400,
  [GrpcStatus.FAILED_PRECONDITION]: 400,
  [GrpcStatus.OUT_OF_RANGE]: 400,
  [GrpcStatus.UNAUTHENTICATED]: 401,
  [GrpcStatus.PERMISSION_DENIED]: 403,
  [GrpcStatus.NOT_FOUND]: 404,
  [GrpcStatus.ALREADY_EXISTS]: 409,
  [GrpcStatus.ABORTED]: 409,
  [GrpcStatus.RESOURCE_EXHAUSTED]: 429,
  [GrpcStatus.UNIMPLEMENTED]: 501,
  [GrpcStatus.UNAVAILABLE]: 503,
  [GrpcStatus.DEADLINE_EXCEEDED]: 504,
};

type Unary = Parameters<typeof invokeUnary>[0];
type Params = { model?: string; version?: string };

/** uint64 fields come out of the handlers as decimal strings (gRPC's longs); REST callers get JSON numbers, as Triton's. */
function numbers(value: unknown, keys: ReadonlySet<string>): unknown {
  if (Array.isArray(value)) return value.map((v) => numbers(v, keys));
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, keys.has(k) && typeof v === 'string' ? Number(v) : numbers(v, keys)]));
}
const UINT64_FIELDS = new Set(['count', 'ns', 'last_inference', 'inference_count', 'execution_count', 'batch_size']);

/**
 * The KServe v2 REST/HTTP API of a node (with Triton's binary tensor,
 * statistics, repository index and classification extensions), served by
 * the gRPC handlers themselves through {@link invokeUnary}.
 *
 * fastify: a well-kept HTTP stack (body limits, routing with parameters,
 * content-type handling, TLS, graceful close) whose own cost per request is
 * small next to decoding tensors and running a model (docs/benchmarks.md).
 */
export class RestServer implements NodeComponent {
  readonly name = 'rest-server';
  readonly app: FastifyInstance;
  /** Overridable per stop (PredictionNode.stop's argument). */
  shutdownDeadlineMs: number;
  private bound: string | undefined;
  private draining = false;

  constructor(private readonly options: RestServerOptions) {
    const tls = options.tls;
    const https = tls
      ? {
          key: readPemFile('tls.keyFile', tls.keyFile!),
          cert: readPemFile('tls.certFile', tls.certFile!),
          ...(tls.clientCaFile ? { ca: readPemFile('tls.clientCaFile', tls.clientCaFile), requestCert: true, rejectUnauthorized: true } : {}),
        }
      : null;
    this.app = Fastify({ logger: false, bodyLimit: options.maxBodyBytes, forceCloseConnections: 'idle', ...(https ? { https } : {}) }) as unknown as FastifyInstance;
    this.shutdownDeadlineMs = options.shutdownDeadlineMs;
    this.routes();
  }

  /** host:port bound; throws before start. */
  get address(): string {
    if (this.bound === undefined) throw new TypeError('the REST server is not bound yet');
    return this.bound;
  }

  private routes(): void {
    const { app } = this;
    const h = this.options.handlers as Record<string, Unary>;
    // Every body is bytes: JSON, or JSON followed by binary tensors (whatever content type the client sends).
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
    app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, _req, reply) => {
      if (err instanceof SwitchyardError) return this.fail(reply, err);
      const status = err.statusCode ?? 500;
      const message =
        err.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
          ? `the request body is larger than this node's limit of ${this.options.maxBodyBytes} bytes (--max-message-bytes); send a smaller batch`
          : err.message;
      return reply.code(status).send({ error: message });
    });
    app.setNotFoundHandler((req, reply) =>
      reply.code(404).send({ error: `no such endpoint: ${req.method} ${req.url.split('?')[0]}; the KServe v2 REST API is under /v2 (docs/protocol.md)` }),
    );
    // Answers written while draining close their connection, so the close does not wait for keep-alive time-outs.
    app.addHook('onSend', async (_req, reply, payload) => {
      if (this.draining) void reply.header('connection', 'close');
      return payload;
    });
    app.addHook('onRequest', async (_req, reply) => {
      if (this.draining) return reply.code(503).header('connection', 'close').send({ error: 'the node is draining; retry on another node' });
      return undefined;
    });

    const call = <Res>(name: string, req: FastifyRequest, reply: FastifyReply, request: unknown): Promise<Res> => invokeUnary<Res>(h[name]!, request, connection(req, reply));
    const model = (req: FastifyRequest) => ({ name: (req.params as Params).model ?? '', version: (req.params as Params).version ?? '' });

    app.get('/v2/health/live', async (req, reply) => reply.send(await call('ServerLive', req, reply, {})));
    app.get('/v2/health/ready', async (req, reply) => {
      const res = await call<{ ready: boolean }>('ServerReady', req, reply, {});
      return reply.code(res.ready ? 200 : 503).send(res);
    });
    app.get('/v2', async (req, reply) => reply.send(await call('ServerMetadata', req, reply, {})));
    for (const base of ['/v2/models/:model', '/v2/models/:model/versions/:version']) {
      app.get(base, async (req, reply) => reply.send(numbers(await call('ModelMetadata', req, reply, model(req)), new Set(['shape']))));
      app.get(`${base}/ready`, async (req, reply) => {
        const m = model(req);
        const res = await call<{ ready: boolean }>('ModelReady', req, reply, m);
        if (res.ready) return reply.send({ name: m.name, ready: true });
        return reply.code(400).send({ error: `model '${m.name}'${m.version ? ` version '${m.version}'` : ''} is not ready on this node` });
      });
      app.get(`${base}/stats`, async (req, reply) => reply.send(numbers(await call('ModelStatistics', req, reply, model(req)), UINT64_FIELDS)));
      app.post(`${base}/infer`, async (req, reply) => this.infer(req, reply));
    }
    app.get('/v2/models/stats', async (req, reply) => reply.send(numbers(await call('ModelStatistics', req, reply, { name: '', version: '' }), UINT64_FIELDS)));
    app.post('/v2/repository/index', async (req, reply) => {
      const body = req.body instanceof Buffer && req.body.byteLength > 0 ? (JSON.parse(req.body.toString('utf8')) as { ready?: boolean }) : {};
      const res = await call<{ models: unknown[] }>('RepositoryIndex', req, reply, { ready: body.ready === true });
      return reply.send(res.models);
    });
    app.post('/v2/repository/models/:model/load', async (req, reply) => reply.send(await call('RepositoryModelLoad', req, reply, { model_name: model(req).name })));
    app.post('/v2/repository/models/:model/unload', async (req, reply) => reply.send(await call('RepositoryModelUnload', req, reply, { model_name: model(req).name })));
  }

  private async infer(req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const { model, version } = req.params as Params;
    const body = req.body instanceof Buffer ? req.body : Buffer.alloc(0);
    const header = req.headers[HEADER_LENGTH];
    let headerLength: number | undefined;
    if (header !== undefined) {
      headerLength = Number(header);
      if (!Number.isSafeInteger(headerLength)) return reply.code(400).send({ error: `Inference-Header-Content-Length must be a byte count; it is '${String(header)}'` });
    }
    const parsed = parseInferBody(model ?? '', version ?? '', body, headerLength);
    const h = this.options.handlers as Record<string, Unary>;
    const response = await invokeUnary<Parameters<typeof renderInferResponse>[0]>(h.ModelInfer!, parsed.request, connection(req, reply));
    const rendered = renderInferResponse(response, parsed);
    if (rendered.headerLength === undefined) return reply.header('content-type', 'application/json').send(rendered.body);
    return reply.header('content-type', 'application/octet-stream').header(HEADER_LENGTH, String(rendered.headerLength)).send(rendered.body);
  }

  private fail(reply: FastifyReply, err: SwitchyardError): FastifyReply {
    return reply.code(HTTP_STATUS[err.code] ?? 500).send({ error: err.rawMessage });
  }

  /** @throws SwitchyardError UNAVAILABLE when `listen` cannot be bound (port taken, no such address). */
  async start(): Promise<void> {
    const { host, port } = splitHostPort(this.options.listen);
    try {
      await this.app.listen({ host, port });
    } catch (err) {
      await this.app.close().catch(() => undefined);
      throw unavailable(`the REST server could not listen on ${this.options.listen} (${(err as Error).message}); choose another address or port`, err);
    }
    this.bound = `${host}:${(this.app.server.address() as AddressInfo).port}`;
  }

  /** New requests get 503; running ones may finish until the shutdown deadline, then their connections are closed. */
  async stop(): Promise<void> {
    this.draining = true;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.options.logger.warn('shutdown deadline passed; closing the REST connections still open', { shutdownDeadlineMs: this.shutdownDeadlineMs });
        this.app.server.closeAllConnections();
        resolve();
      }, this.shutdownDeadlineMs);
    });
    await Promise.race([this.app.close(), deadline]);
    clearTimeout(timer);
  }
}

/** Headers passed on to the handlers as gRPC metadata: the W3C trace context. */
const PASSED_HEADERS = ['traceparent', 'tracestate'] as const;

function connection(req: FastifyRequest, reply: FastifyReply): RestConnection {
  const metadata: Record<string, string> = {};
  for (const name of PASSED_HEADERS) {
    const value = req.headers[name];
    if (typeof value === 'string') metadata[name] = value;
  }
  return {
    metadata,
    peer: `${req.socket.remoteAddress ?? ''}:${req.socket.remotePort ?? ''}`,
    onClose: (listener) => reply.raw.once('close', () => listener(!reply.raw.writableFinished)),
  };
}

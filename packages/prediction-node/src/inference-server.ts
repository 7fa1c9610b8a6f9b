import * as grpc from '@grpc/grpc-js';
import { unavailable, splitHostPort, type Logger } from '@switchyard/core';
import type { NodeComponent } from './node-component.js';

/** Options for {@link InferenceServer}. */
export interface InferenceServerOptions {
  /** host:port to bind; port 0 picks a free one. */
  listen: string;
  credentials: grpc.ServerCredentials;
  maxMessageBytes: number;
  /** How long in-flight calls may run on stop before they are cancelled. */
  shutdownDeadlineMs: number;
  logger: Logger;
  /** Open connections at once; more are closed on arrival. @default unlimited */
  maxConnections?: number;
  /** A connection with no call for this long is closed (grpc.max_connection_idle_ms). @default grpc-js's (30 min) */
  connectionIdleMs?: number;
  /** Server pings to find peers that are gone (grpc.keepalive_time_ms / keepalive_timeout_ms). @default off */
  keepaliveTimeMs?: number;
  keepaliveTimeoutMs?: number;
  /** Calls at once on one connection (grpc.max_concurrent_streams). @default unlimited */
  maxConcurrentStreams?: number;
}

/** grpc-js server options for the connection limits of {@link InferenceServerOptions}. */
export function connectionOptions(o: Pick<InferenceServerOptions, 'connectionIdleMs' | 'keepaliveTimeMs' | 'keepaliveTimeoutMs' | 'maxConcurrentStreams'>): grpc.ServerOptions {
  return {
    ...(o.connectionIdleMs !== undefined ? { 'grpc.max_connection_idle_ms': o.connectionIdleMs } : {}),
    ...(o.keepaliveTimeMs !== undefined ? { 'grpc.keepalive_time_ms': o.keepaliveTimeMs } : {}),
    ...(o.keepaliveTimeoutMs !== undefined ? { 'grpc.keepalive_timeout_ms': o.keepaliveTimeoutMs } : {}),
    ...(o.maxConcurrentStreams !== undefined ? { 'grpc.max_concurrent_streams': o.maxConcurrentStreams } : {}),
  };
}

/**
 * Caps the connections of a bound grpc-js server. grpc-js has no option for
 * it, so this sets Node's own `maxConnections` on the HTTP/2 servers it
 * keeps in a private map (grpc-js 1.14); Node then closes each connection
 * past the cap on arrival. Returns false when that map is not there.
 */
export function capConnections(server: grpc.Server, maxConnections: number): boolean {
  const servers = (server as unknown as { http2Servers?: Map<{ maxConnections: number }, unknown> }).http2Servers;
  if (!(servers instanceof Map)) return false;
  for (const http2Server of servers.keys()) http2Server.maxConnections = maxConnections;
  return true;
}

/**
 * The node's gRPC server as a {@link NodeComponent}: services are added
 * before start, start binds, stop lets in-flight calls finish and cancels
 * them once the shutdown deadline has passed, so a stop never hangs.
 */
export class InferenceServer implements NodeComponent {
  readonly name = 'inference-server';
  readonly server: grpc.Server;
  /** Overridable per stop (PredictionNode.stop's argument). */
  shutdownDeadlineMs: number;
  private boundPort: number | undefined;

  constructor(private readonly options: InferenceServerOptions) {
    this.server = new grpc.Server({
      // Channelz stays on although nothing serves it (≈ 1 µs a call): grpc-js 1.14's forceShutdown
      // destroys only the sessions its channelz handler tracked, so with it off a stop hangs on open calls.
      'grpc.max_receive_message_length': options.maxMessageBytes,
      'grpc.max_send_message_length': options.maxMessageBytes,
      ...connectionOptions(options),
    });
    this.shutdownDeadlineMs = options.shutdownDeadlineMs;
  }

  /** `listen` with the bound port; throws before start. */
  get address(): string {
    if (this.boundPort === undefined) throw new TypeError('the inference server is not bound yet');
    return `${splitHostPort(this.options.listen).host}:${this.boundPort}`;
  }

  /** @throws SwitchyardError UNAVAILABLE when `listen` cannot be bound (port taken, no such address). */
  async start(): Promise<void> {
    const { listen, credentials } = this.options;
    try {
      this.boundPort = await new Promise<number>((resolve, reject) =>
        this.server.bindAsync(listen, credentials, (err, port) => (err ? reject(err) : resolve(port))),
      );
    } catch (err) {
      // A failed bind leaves the server half set up; nothing else would close it.
      this.server.forceShutdown();
      throw unavailable(`the inference server could not listen on ${listen} (${(err as Error).message}); choose another address or port`, err);
    }
    if (this.options.maxConnections !== undefined && !capConnections(this.server, this.options.maxConnections)) {
      this.options.logger.warn('this grpc-js version hides its HTTP/2 servers: connections are not capped', { maxConnections: this.options.maxConnections });
    }
  }

  async stop(): Promise<void> {
    const { logger } = this.options;
    const deadlineMs = this.shutdownDeadlineMs;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        logger.warn('shutdown deadline passed; cancelling the calls still running', { shutdownDeadlineMs: deadlineMs });
        this.server.forceShutdown();
        resolve();
      }, deadlineMs);
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

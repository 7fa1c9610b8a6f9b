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
      'grpc.max_receive_message_length': options.maxMessageBytes,
      'grpc.max_send_message_length': options.maxMessageBytes,
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

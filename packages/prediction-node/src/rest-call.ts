import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { SwitchyardError } from '@switchyard/core';

type Unary = (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => void;

/**
 * A REST request seen by a gRPC unary handler: the same `request`, a
 * deadline, and the 'cancelled' event, which grpc-js emits both when the
 * caller goes away and once the call has ended; the handlers rely on both
 * (a run abandoned, in-flight bytes given back), so this does the same.
 */
class RestCall extends EventEmitter {
  cancelled = false;
  readonly metadata = new grpc.Metadata();

  constructor(
    readonly request: unknown,
    private readonly deadline: number,
    private readonly peer: string,
  ) {
    super();
  }

  getDeadline(): grpc.Deadline {
    return this.deadline;
  }

  getPeer(): string {
    return this.peer;
  }

  /** The caller went away before the answer, or the answer has been written. */
  end(cancelled: boolean): void {
    if (this.cancelled) return;
    this.cancelled = cancelled;
    this.emit('cancelled');
    if (!cancelled) this.cancelled = true;
  }
}

/** How a REST caller's connection reports its end to {@link invokeUnary}. */
export interface RestConnection {
  /** Registers what to run once the response has been written or the connection closed; `aborted` when before the answer. */
  onClose(listener: (aborted: boolean) => void): void;
  peer: string;
  /** Request headers the handlers read as gRPC metadata (W3C trace context). */
  metadata?: Record<string, string>;
}

/**
 * Runs a gRPC unary handler for a REST request and resolves with its
 * response, or rejects with the SwitchyardError it answered.
 */
export function invokeUnary<Res>(handler: Unary, request: unknown, connection: RestConnection, deadline = Number.POSITIVE_INFINITY): Promise<Res> {
  const call = new RestCall(request, deadline, connection.peer);
  for (const [key, value] of Object.entries(connection.metadata ?? {})) call.metadata.set(key, value);
  connection.onClose((aborted) => call.end(aborted));
  return new Promise<Res>((resolve, reject) => {
    handler(call as unknown as grpc.ServerUnaryCall<unknown, unknown>, (err, value) => {
      if (err) reject(SwitchyardError.from(err));
      else resolve(value as Res);
    });
  });
}

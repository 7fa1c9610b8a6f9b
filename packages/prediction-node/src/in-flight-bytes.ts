import { resourceExhausted } from '@switchyard/core';

/**
 * The node-wide budget of bytes held by ModelInfer calls in flight: the
 * request's tensors from when the handler gets it, then the response's,
 * until gRPC has handed the last of it to the connection (a client that
 * does not read keeps its response counted). One size limit per message
 * does not bound memory: twelve 60 MB requests at once peaked a node at
 * 1.65 GB. A request that would pass the budget is refused at once.
 */
export class InFlightBytes {
  private held = 0;

  constructor(readonly limit: number) {}

  /** Bytes counted now (tests, metrics). */
  get value(): number {
    return this.held;
  }

  /**
   * Counts `bytes` (a request's, or then its response's) and returns the
   * function that gives them back; calling it again does nothing.
   * @throws RESOURCE_EXHAUSTED naming the limit when they do not fit.
   */
  take(bytes: number): () => void {
    if (this.held + bytes > this.limit) {
      throw resourceExhausted(
        `the node's in-flight request bytes limit (maxInFlightBytes, --max-in-flight-bytes) of ${this.limit} bytes is reached: ` +
          `${this.held} bytes are held by calls in flight and this request needs ${bytes}; retry later or on another node`,
      );
    }
    this.held += bytes;
    let given = false;
    return () => {
      if (given) return;
      given = true;
      this.held -= bytes;
    };
  }
}

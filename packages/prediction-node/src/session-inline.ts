import type { InferenceSession, Tensor } from 'onnxruntime-node';
import type { VersionSession } from './session-interface.js';

/**
 * A session on the node's main thread. onnxruntime-node computes
 * synchronously there, so only models whose run takes a fraction of a
 * millisecond or so belong here: a worker-thread hop costs ≈ 30–100 µs.
 */
export class InlineSession implements VersionSession {
  readonly host = 'inline';

  constructor(private readonly session: InferenceSession) {}

  get inputNames(): readonly string[] {
    return this.session.inputNames;
  }
  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  run(feeds: Record<string, Tensor>, outputs?: readonly string[]): Promise<Record<string, Tensor>> {
    return outputs ? this.session.run(feeds, outputs) : this.session.run(feeds);
  }

  release(): Promise<void> {
    return this.session.release();
  }
}

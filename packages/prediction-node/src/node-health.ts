import { HealthImplementation } from 'grpc-health-check';
import type { Logger } from '@switchyard/core';
import type { NodeComponent } from './node-component.js';

const SERVICES = ['', 'inference.GRPCInferenceService'];

/**
 * grpc.health.v1 of a node, as a {@link NodeComponent} started last and so
 * stopped first: NOT_SERVING until {@link serving}; on stop NOT_SERVING at
 * once, then calls are still taken for `drainGraceMs`, so clients and load
 * balancers that watch health move away before anything is refused.
 */
export class NodeHealth implements NodeComponent {
  readonly name = 'health';
  readonly implementation = new HealthImplementation(Object.fromEntries(SERVICES.map((s) => [s, 'NOT_SERVING'])));

  private servingNow = false;

  constructor(
    private readonly drainGraceMs: number,
    private readonly logger: Logger,
  ) {}

  start(): void {}

  /** Whether health says SERVING: what ServerReady answers too. */
  get isServing(): boolean {
    return this.servingNow;
  }

  serving(): void {
    this.servingNow = true;
    for (const service of SERVICES) this.implementation.setStatus(service, 'SERVING');
  }

  notServing(): void {
    this.servingNow = false;
    for (const service of SERVICES) this.implementation.setStatus(service, 'NOT_SERVING');
  }

  async stop(): Promise<void> {
    this.notServing();
    if (this.drainGraceMs <= 0) return;
    this.logger.debug('drain grace: still taking calls', { drainGraceMs: this.drainGraceMs });
    await new Promise((r) => setTimeout(r, this.drainGraceMs));
  }
}

import type { Endpoint } from './endpoint.js';

/**
 * Round robin over the endpoints whose health is SERVING. Immutable: the
 * client replaces it whole whenever the set or a health state changes; only
 * the rotation counter moves, and it carries over to the replacement: a
 * picker rebuilt between calls would otherwise start at the first endpoint
 * again and send every call to it while health or discovery keeps changing.
 */
export class EndpointPicker {
  private next: number;
  readonly ready: readonly Endpoint[];

  constructor(endpoints: Iterable<Endpoint>, previous?: EndpointPicker) {
    this.next = previous?.next ?? 0;
    this.ready = [...endpoints].filter((e) => e.serving).sort((a, b) => (a.address < b.address ? -1 : 1));
  }

  /**
   * The next ready endpoint not in `avoid`; when every ready endpoint is in
   * `avoid`, the next ready one anyway; undefined when none is ready.
   */
  pick(avoid: ReadonlySet<Endpoint> = new Set()): Endpoint | undefined {
    const n = this.ready.length;
    if (n === 0) return undefined;
    const start = this.next++ % n;
    for (let i = 0; i < n; i++) {
      const candidate = this.ready[(start + i) % n]!;
      if (!avoid.has(candidate)) return candidate;
    }
    return this.ready[start];
  }
}

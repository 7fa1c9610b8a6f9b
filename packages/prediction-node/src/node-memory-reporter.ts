import type { KeyLayout, NodeMemoryRecord } from '@switchyard/core';
import type { NodeComponent } from './node-component.js';
import type { RuntimeReporter } from './runtime-reporter.js';

/** What the record is made of, read on each tick. */
export interface NodeMemoryFigures {
  budgetBytes: number;
  usedBytes: () => number;
  loaded: () => number;
  evictions: () => number;
}

/** Options for {@link NodeMemoryReporter}. */
export interface NodeMemoryReporterOptions {
  reporter: RuntimeReporter;
  keys: KeyLayout;
  nodeId: string;
  figures: NodeMemoryFigures;
  /** Least time between two writes. @default 5000 */
  intervalMs?: number;
  /** The process's resident set; a fake in tests. @default process.memoryUsage.rss */
  rss?: () => number;
}

/** A resident-set change smaller than this fraction is not worth a write on its own. */
const RSS_CHANGE = 0.05;

/**
 * Keeps `runtime/memory/{nodeId}` (a NodeMemoryRecord, issue #16) under the
 * node's lease: written at start and then at most once per interval, and
 * only when something in it changed (used, loaded, evictions, or the
 * resident set by 5 % or more), so an idle node writes nothing.
 */
export class NodeMemoryReporter implements NodeComponent {
  readonly name = 'memory-record';
  private timer: NodeJS.Timeout | undefined;
  private last: NodeMemoryRecord | undefined;

  constructor(private readonly options: NodeMemoryReporterOptions) {}

  start(): void {
    this.tick();
    this.timer = setInterval(() => this.tick(), this.options.intervalMs ?? 5000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Writes the record if it changed enough; returns it (for tests). */
  tick(): NodeMemoryRecord {
    const { figures, reporter, keys, nodeId } = this.options;
    const rssBytes = (this.options.rss ?? process.memoryUsage.rss)();
    const next: NodeMemoryRecord = {
      nodeId,
      budgetBytes: figures.budgetBytes,
      usedBytes: figures.usedBytes(),
      rssBytes,
      loaded: figures.loaded(),
      evictions: figures.evictions(),
      displaced: [],
      updatedAt: new Date().toISOString(),
    };
    const last = this.last;
    const same =
      last !== undefined &&
      last.usedBytes === next.usedBytes &&
      last.loaded === next.loaded &&
      last.evictions === next.evictions &&
      Math.abs(last.rssBytes - rssBytes) < last.rssBytes * RSS_CHANGE;
    if (same) return last;
    this.last = next;
    reporter.set(keys.nodeMemory(nodeId), JSON.stringify(next));
    return next;
  }
}

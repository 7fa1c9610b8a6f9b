import type { KeyLayout, NodeMemoryRecord } from '@switchyard/core';
import { onHeapSettled } from './heap-trim.js';
import type { NodeComponent } from './node-component.js';
import type { RuntimeReporter } from './runtime-reporter.js';

/** What the record is made of, read on each tick, and the node's memory account it keeps measured. */
export interface NodeMemoryFigures {
  budgetBytes: number;
  usedBytes: () => number;
  unaccountedBytes: () => number;
  loaded: () => number;
  evictions: () => number;
  /** Placed copies unloaded for requests' versions (NodeMemoryRecord.displaced). */
  displaced: () => readonly string[];
  /** Takes the idle node's resident set as the baseline the budget counts above (MemoryLedger.takeBaseline). */
  takeBaseline: (rssBytes: number) => void;
  /** Measures the resident set against it (Reconciler.sampleMemory). */
  sample: (rssBytes: number) => void;
  dropBaseline: () => void;
}

/** Options for {@link NodeMemoryReporter}. */
export interface NodeMemoryReporterOptions {
  reporter: RuntimeReporter;
  keys: KeyLayout;
  nodeId: string;
  figures: NodeMemoryFigures;
  /** Least time between two writes (and between two timed samples). @default 5000 */
  intervalMs?: number;
  /** The process's resident set; a fake in tests. @default process.memoryUsage.rss */
  rss?: () => number;
  /** Settles once the process's fixed memory is paid (onnxruntime's first session), before the baseline is taken. */
  beforeBaseline?: () => Promise<void>;
}

/** A resident-set change smaller than this fraction is not worth a write on its own. */
const RSS_CHANGE = 0.05;
/** Nor is a change of the unaccounted bytes smaller than this. */
const UNACCOUNTED_CHANGE = 1024 * 1024;

/**
 * Keeps the node's memory account measured and published (issue #16):
 * takes the idle baseline at start (before any load: it starts before the
 * target-state watch), measures the resident set against it after each heap
 * trim that follows loads or unloads and on each tick (never per request),
 * and keeps `runtime/memory/{nodeId}` (a NodeMemoryRecord) under the node's
 * lease: written at start and then at most once per interval, and only when
 * something in it changed (used, unaccounted, loaded, evictions, displaced,
 * or the resident set by 5 % or more), so an idle node writes nothing.
 */
export class NodeMemoryReporter implements NodeComponent {
  readonly name = 'memory-record';
  private timer: NodeJS.Timeout | undefined;
  private last: NodeMemoryRecord | undefined;
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly options: NodeMemoryReporterOptions) {}

  async start(): Promise<void> {
    await this.options.beforeBaseline?.();
    this.options.figures.takeBaseline(this.rss());
    this.unsubscribe = onHeapSettled(() => this.options.figures.sample(this.rss()));
    this.tick();
    this.timer = setInterval(() => this.tick(), this.options.intervalMs ?? 5000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.unsubscribe?.();
    this.options.figures.dropBaseline();
  }

  private rss(): number {
    return (this.options.rss ?? process.memoryUsage.rss)();
  }

  /** Measures, and writes the record if it changed enough; returns it (for tests). Also called at once when a copy is displaced. */
  tick(): NodeMemoryRecord {
    const { figures, reporter, keys, nodeId } = this.options;
    const rssBytes = this.rss();
    figures.sample(rssBytes);
    const next: NodeMemoryRecord = {
      nodeId,
      budgetBytes: figures.budgetBytes,
      usedBytes: figures.usedBytes(),
      rssBytes,
      unaccountedBytes: figures.unaccountedBytes(),
      loaded: figures.loaded(),
      evictions: figures.evictions(),
      displaced: [...figures.displaced()],
      updatedAt: new Date().toISOString(),
    };
    const last = this.last;
    const same =
      last !== undefined &&
      last.usedBytes === next.usedBytes &&
      Math.abs((last.unaccountedBytes ?? 0) - (next.unaccountedBytes ?? 0)) < UNACCOUNTED_CHANGE &&
      last.loaded === next.loaded &&
      last.evictions === next.evictions &&
      last.displaced.join('\n') === next.displaced.join('\n') &&
      Math.abs(last.rssBytes - rssBytes) < last.rssBytes * RSS_CHANGE;
    if (same) return last;
    this.last = next;
    reporter.set(keys.nodeMemory(nodeId), JSON.stringify(next));
    return next;
  }
}

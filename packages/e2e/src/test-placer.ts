import type { Etcd3, Watcher } from 'etcd3';
import type { AdminClient } from '@switchyard/client';
import { ModelRecordSchema, parseStored, type KeyLayout } from '@switchyard/core';

/** The most copies a model may ask for; more than there are nodes means one on every node. */
const EVERY_NODE = 1000;

/**
 * Has the control plane's placer keep a copy of every routed version on
 * every node (issue #16), which is what nodes did before placements and what
 * most tests check: every model gets `min_copies` {@link EVERY_NODE} through
 * UpdateModel as soon as its record appears (models created by a test, the
 * CLI, or CreateVersion). Tests of density itself turn it off.
 */
export class TestPlacer {
  private watcher: Watcher | undefined;
  private running: Promise<void> = Promise.resolve();
  private readonly done = new Set<string>();
  private closed = false;

  private constructor(
    private readonly etcd: Etcd3,
    private readonly keys: KeyLayout,
    private readonly admin: AdminClient,
  ) {}

  static async start(etcd: Etcd3, keys: KeyLayout, admin: AdminClient): Promise<TestPlacer> {
    const placer = new TestPlacer(etcd, keys, admin);
    placer.watcher = await etcd.watch().prefix(keys.modelsPrefix()).create();
    placer.watcher.on('put', () => placer.schedule());
    placer.watcher.on('error', () => undefined);
    placer.schedule();
    await placer.running;
    return placer;
  }

  /** Resolves once every model seen so far asks for a copy on every node. */
  async settle(): Promise<void> {
    this.schedule();
    await this.running;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.watcher?.cancel().catch(() => undefined);
    await this.running.catch(() => undefined);
  }

  private schedule(): void {
    if (this.closed) return;
    this.running = this.running.then(() => this.everyNode()).catch(() => undefined);
  }

  private async everyNode(): Promise<void> {
    const models = await this.etcd.getAll().prefix(this.keys.modelsPrefix()).strings();
    for (const raw of Object.values(models)) {
      const record = parseStored(ModelRecordSchema, raw);
      if (!record.ok || this.done.has(record.value.name)) continue;
      if ((record.value.placement?.minCopies ?? 1) < EVERY_NODE) {
        await this.admin.updateModel({
          name: record.value.name,
          update_mask: ['placement.min_copies'],
          placement: { min_copies: EVERY_NODE, max_copies: 0, always_resident: false },
        });
      }
      this.done.add(record.value.name);
    }
  }
}

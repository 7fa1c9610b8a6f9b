import type { Etcd3, Watcher } from 'etcd3';
import { PlacementRecordSchema, parseStored, RouteRecordSchema, type KeyLayout, type PlacementRecord } from '@switchyard/core';

/**
 * A stand-in for the control plane's placer in tests (issue #16): every
 * version a route names (splits and shadows) is placed on every registered
 * node, which is what every node loading every routed version used to mean.
 * Tests of density itself turn it off and write placements themselves.
 * Writes only when a record would change; plain puts, since tests own the
 * cluster.
 */
export class TestPlacer {
  private readonly watchers: Watcher[] = [];
  private running: Promise<void> = Promise.resolve();
  private dirty = false;
  private closed = false;

  private constructor(
    private readonly etcd: Etcd3,
    private readonly keys: KeyLayout,
  ) {}

  static async start(etcd: Etcd3, keys: KeyLayout): Promise<TestPlacer> {
    const placer = new TestPlacer(etcd, keys);
    for (const prefix of [keys.routesPrefix(), keys.nodesPrefix()]) {
      const watcher = await etcd.watch().prefix(prefix).create();
      watcher.on('data', () => placer.schedule());
      watcher.on('error', () => undefined);
      placer.watchers.push(watcher);
    }
    placer.schedule();
    await placer.running;
    return placer;
  }

  /** Resolves once every placement reflects the routes and nodes as they are now. */
  async settle(): Promise<void> {
    this.schedule();
    await this.running;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.watchers.map((w) => w.cancel().catch(() => undefined)));
    await this.running.catch(() => undefined);
  }

  private schedule(): void {
    if (this.closed) return;
    this.dirty = true;
    this.running = this.running.then(async () => {
      while (this.dirty && !this.closed) {
        this.dirty = false;
        await this.place().catch(() => (this.dirty = true));
      }
    });
  }

  private async place(): Promise<void> {
    const nodes = Object.keys(await this.etcd.getAll().prefix(this.keys.nodesPrefix()).strings())
      .map((key) => key.slice(this.keys.nodesPrefix().length))
      .sort();
    const routes = await this.etcd.getAll().prefix(this.keys.routesPrefix()).strings();
    const placements = await this.etcd.getAll().prefix(this.keys.placementsPrefix()).strings();
    for (const raw of Object.values(routes)) {
      const route = parseStored(RouteRecordSchema, raw);
      if (!route.ok) continue;
      const versions = new Set([...route.value.splits.map((s) => s.version), ...route.value.shadows.map((s) => s.version)]);
      for (const version of versions) {
        const key = this.keys.placement(route.value.model, version);
        const current = placements[key] === undefined ? undefined : parseStored(PlacementRecordSchema, placements[key]);
        const held = current?.ok ? current.value.copies.map((c) => c.nodeId).sort() : undefined;
        if (held !== undefined && held.join(',') === nodes.join(',')) continue;
        const now = new Date().toISOString();
        const record: PlacementRecord = {
          model: route.value.model,
          version,
          copies: nodes.map((nodeId) => ({ nodeId, since: now })),
          wantedCopies: nodes.length,
          estimatedBytes: 0,
          reason: '',
          updatedAt: now,
        };
        await this.etcd.put(key).value(JSON.stringify(record));
      }
    }
  }
}

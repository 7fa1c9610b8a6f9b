import { BUILD_VERSION, splitHostPort, type KeyLayout, type Logger, type NodeRecord, type VersionStatusRecord } from '@switchyard/core';
import type { NodeComponent } from './node-component.js';
import type { NodeMetrics } from './node-metrics.js';
import type { StatusSink } from './reconciler.js';
import type { RuntimeReporter } from './runtime-reporter.js';
import type { UsageSource } from './usage-source.js';

/** Options for {@link NodeRegistration}. */
export interface NodeRegistrationOptions {
  reporter: RuntimeReporter;
  keys: KeyLayout;
  nodeId: string;
  /** The addresses, known once the servers are bound (so read at start). */
  addresses: () => { address: string; metricsAddress: string | undefined; httpAddress?: string | undefined };
  logger: Logger;
  /** Published for placement (issue #16). @default 0: unknown */
  memoryBudgetBytes?: number;
}

/**
 * The node's record in `runtime/nodes/` as a {@link NodeComponent}: written
 * (under the reporter's lease) once the servers are bound; on stop the lease
 * is revoked, so the record and every status key go at once. Bounded: etcd
 * may be down.
 */
export class NodeRegistration implements NodeComponent {
  readonly name = 'registration';

  constructor(private readonly options: NodeRegistrationOptions) {}

  start(): void {
    const { reporter, keys, nodeId, addresses } = this.options;
    const { address, metricsAddress, httpAddress } = addresses();
    const record: NodeRecord = { id: nodeId, address, metricsAddress: metricsAddress ?? '', buildVersion: BUILD_VERSION, startedAt: new Date().toISOString(), memoryBudgetBytes: this.options.memoryBudgetBytes ?? 0, draining: false, httpAddress: httpAddress ?? '' };
    reporter.set(keys.node(nodeId), JSON.stringify(record));
  }

  async stop(): Promise<void> {
    await this.options.reporter.close().catch((err: unknown) => this.options.logger.warn('could not deregister from etcd', { error: String(err) }));
  }
}

/** Options for {@link NodeStatusSink}. */
export interface NodeStatusSinkOptions {
  reporter: RuntimeReporter;
  keys: KeyLayout;
  nodeId: string;
  metrics: NodeMetrics;
  usage: UsageSource;
}

/**
 * Where the reconciler's version states go: status keys under the node's
 * lease. Clearing a version also drops its counters, keeping its last use
 * until it has been published.
 */
export class NodeStatusSink implements StatusSink {
  constructor(private readonly options: NodeStatusSinkOptions) {}

  report(status: Omit<VersionStatusRecord, 'nodeId' | 'updatedAt'>): void {
    const { reporter, keys, nodeId } = this.options;
    const record: VersionStatusRecord = { ...status, nodeId, updatedAt: new Date().toISOString() };
    reporter.set(keys.status(nodeId, status.model, status.version), JSON.stringify(record));
  }

  clear(model: string, version: string): void {
    const { reporter, keys, nodeId, metrics, usage } = this.options;
    reporter.remove(keys.status(nodeId, model, version));
    const stats = metrics.existingStats(model, version);
    if (stats) usage.retain(stats);
    metrics.forget(model, version);
  }
}

/**
 * The REST address others reach: the bound one, except that a node which
 * advertises a host (behind NAT, a DNS name, listening on 0.0.0.0) is
 * reached on that host, at the REST port.
 */
export function advertisedHttpAddress(bound: string, advertise: string | undefined): string {
  if (advertise === undefined) return bound;
  const host = splitHostPort(advertise).host;
  return `${host.includes(':') ? `[${host}]` : host}:${splitHostPort(bound).port}`;
}

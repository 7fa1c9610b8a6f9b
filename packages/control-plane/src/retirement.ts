import type { Clock, KeyLayout, Logger } from '@switchyard/core';
import type { AdminService } from './admin-service.js';
import type { ArtifactStore } from './artifact-store.js';
import type { EtcdClient } from './etcd-client.js';
import { EtcdTables } from './etcd-tables.js';
import type { Leadership } from './leader-election.js';
import { RetirementActions } from './retirement-actions.js';
import { RetirementAdmin } from './retirement-admin.js';
import { retirementCounters } from './retirement-metrics.js';
import type { ResolvedRetirementOptions } from './retirement-options.js';
import { RetirementSweeper } from './retirement-sweeper.js';

/** The retirement parts of one control plane, sharing one set of counters. */
export function createRetirement(parts: {
  etcd: EtcdClient;
  keys: KeyLayout;
  artifacts: ArtifactStore;
  leadership: Leadership;
  clock: Clock;
  logger: Logger;
  options: ResolvedRetirementOptions;
  admin: AdminService;
}) {
  const logger = parts.logger.child({ component: 'retirement' });
  const counters = retirementCounters();
  const tables = new EtcdTables({ etcd: parts.etcd, keys: parts.keys, logger });
  const actions = new RetirementActions({ tables, clock: parts.clock, logger, options: parts.options, counters });
  const sweeper = new RetirementSweeper({ ...parts, tables, logger, actions, counters });
  const admin = new RetirementAdmin({ ...parts, tables, logger, actions });
  return { sweeper, admin, actions, counters };
}

import type { Clock, Logger } from '@switchyard/core';
import type { ArtifactStore } from './artifact-store.js';
import type { EtcdTables } from './etcd-tables.js';
import type { Leadership } from './leader-election.js';
import { RetirementActions } from './retirement-actions.js';
import { RetirementAdmin } from './retirement-admin.js';
import { retirementCounters } from './retirement-metrics.js';
import type { ResolvedRetirementOptions } from './retirement-options.js';
import { RetirementSweeper } from './retirement-sweeper.js';

/** The retirement parts of one control plane, sharing one set of counters. */
export function createRetirement(parts: {
  /** The control plane's tables, shared with the admin API. */
  tables: EtcdTables;
  artifacts: ArtifactStore;
  leadership: Leadership;
  clock: Clock;
  logger: Logger;
  options: ResolvedRetirementOptions;
}) {
  const logger = parts.logger.child({ component: 'retirement' });
  const counters = retirementCounters();
  const actions = new RetirementActions({ tables: parts.tables, clock: parts.clock, logger, options: parts.options, counters });
  const sweeper = new RetirementSweeper({ ...parts, logger, actions, counters });
  const admin = new RetirementAdmin({ ...parts, logger, actions });
  return { sweeper, admin, actions, counters };
}

import { Counter, Registry } from 'prom-client';

/** The retirement counters, on their own registry so several control planes can run in one process (tests). */
export interface RetirementCounters {
  warned: Counter;
  cleared: Counter;
  retired: Counter;
  collected: Counter;
}

/** Creates the counters `switchyard_retirement_{warnings,warnings_cleared,retired_versions,artifacts_collected}_total`. */
export function retirementCounters(registry: Registry = new Registry()): RetirementCounters & { registry: Registry } {
  const counter = (name: string, help: string) => new Counter({ name, help, registers: [registry] });
  return {
    registry,
    warned: counter('switchyard_retirement_warnings_total', 'Versions that entered WARNED: unused for so long that they will be retired unless used.'),
    cleared: counter('switchyard_retirement_warnings_cleared_total', 'WARNED versions made ACTIVE again (used, pinned, or their expiration moved).'),
    retired: counter('switchyard_retirement_retired_versions_total', 'Versions retired, by the sweeper or by hand.'),
    collected: counter('switchyard_retirement_artifacts_collected_total', 'Artifacts deleted from this control plane\'s store after their versions were retired.'),
  };
}

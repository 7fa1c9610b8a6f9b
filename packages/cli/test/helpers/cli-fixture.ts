import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestFn } from 'ava';
import { DEFAULT_PREFIX } from '@switchyard/core';
import { makeTempDir, removeDir } from '@switchyard/testkit';
import { TestCluster } from '@switchyard/e2e';
import { killRunning, runCli, type CliResult } from './run-cli.js';

/** What a CLI test file shares: a running cluster and an empty working directory with the test's files. */
export interface CliContext {
  cluster: TestCluster;
  cwd: string;
}

/**
 * Registers before/after hooks that start a cluster of `nodes` nodes and a
 * working directory holding `files`, and tear both down (killing any CLI
 * child a failed test left). An empty directory means no
 * .switchyard/cluster.json is found by accident.
 */
export function useCliCluster(test: TestFn<CliContext>, options: { nodes: number; files?: Record<string, Uint8Array | string>; placeEverywhere?: boolean }): void {
  test.before(async (t) => {
    // The CLI's commands use the default prefix, as a cluster of one's own would.
    const cluster = await TestCluster.start({ nodes: options.nodes, prefix: DEFAULT_PREFIX, waitReady: true, ...(options.placeEverywhere === undefined ? {} : { placeEverywhere: options.placeEverywhere }) });
    const cwd = await makeTempDir('switchyard-cli-cwd-');
    for (const [name, content] of Object.entries(options.files ?? {})) await writeFile(join(cwd, name), content);
    t.context = { cluster, cwd };
  });
  test.after.always(async (t) => {
    killRunning();
    await t.context.cluster?.stop();
    if (t.context.cwd) await removeDir(t.context.cwd);
  });
}

/** Runs the CLI in the test's working directory against its cluster's control plane. */
export function cli(t: { context: CliContext }, ...args: string[]): Promise<CliResult> {
  return runCli([...args, '--control-plane', t.context.cluster.controlPlane.address], { cwd: t.context.cwd });
}

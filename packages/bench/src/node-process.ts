/**
 * A prediction node as it ships: `switchyard node` in a process of its own,
 * started through the CLI's bin script with the environment given (by
 * default this process's, without the allocator variables the bin script
 * sets itself), so whatever `switchyard node` does at start (issue #17: the
 * glibc trim threshold) is part of what is measured.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, trackChild } from '@switchyard/testkit';

/** The CLI's bin script, beside this package in the workspace. */
const CLI_BIN = fileURLToPath(new URL('../../../cli/bin/switchyard.js', import.meta.url));

export interface NodeProcess {
  readonly id: string;
  readonly address: string;
  readonly metricsAddress: string;
  readonly pid: number;
  /** CPU time (user + system) of the node's process and its children so far, ms. */
  cpuMs(): number;
  /** The node's /metrics text. */
  metrics(): Promise<string>;
  stop(): Promise<void>;
}

export interface NodeProcessOptions {
  etcdEndpoint: string;
  /** The cluster's etcd key prefix. */
  prefix: string;
  id: string;
  dir: string;
  /** Variables set over this process's (undefined deletes one). */
  env?: Record<string, string | undefined>;
  /** Node.js flags before the script (profiling). */
  execArgv?: string[];
  /** Another build's bin script (A/B runs against a copy of an earlier build). @default this workspace's */
  bin?: string;
}

/** Starts `switchyard node`; resolves once its metrics endpoint answers. */
export async function startNodeProcess(o: NodeProcessOptions): Promise<NodeProcess> {
  const [port, metricsPort] = [await freePort('127.0.0.1'), await freePort('127.0.0.1')];
  const env: NodeJS.ProcessEnv = { ...process.env, SWITCHYARD_LOG_SILENT: '1' };
  // As an operator's shell: nobody set the allocator variables, the bin script decides.
  delete env.MALLOC_TRIM_THRESHOLD_;
  delete env.SWITCHYARD_NO_MALLOC_TRIM;
  delete env.SWITCHYARD_MALLOC_TRIM_CHILD;
  for (const [k, v] of Object.entries(o.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  const args = [
    ...(o.execArgv ?? []),
    o.bin ?? CLI_BIN,
    'node',
    '--etcd',
    o.etcdEndpoint,
    '--prefix',
    o.prefix,
    '--id',
    o.id,
    '--listen',
    `127.0.0.1:${port}`,
    '--metrics-listen',
    `127.0.0.1:${metricsPort}`,
    '--data-dir',
    join(o.dir, o.id),
    '--drain-grace',
    '0s',
    '--shutdown-deadline',
    '1s',
  ];
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  trackChild(child);
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    if (stderr.length < 4000) stderr += chunk.toString();
  });
  const metricsAddress = `127.0.0.1:${metricsPort}`;
  const metrics = async (): Promise<string> => {
    const res = await fetch(`http://${metricsAddress}/metrics`);
    return res.text();
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`switchyard node ${o.id} exited with ${child.exitCode}: ${stderr}`);
    if (await metrics().then(() => true, () => false)) break;
    if (Date.now() > deadline) throw new Error(`switchyard node ${o.id} did not serve /metrics within 30 s: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    id: o.id,
    address: `127.0.0.1:${port}`,
    metricsAddress,
    pid: child.pid!,
    cpuMs: () => treeCpuMs(child.pid!),
    metrics,
    stop: () => stopChild(child),
  };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ: 100 on Linux). */
const TICKS_PER_SECOND = 100;

/** CPU time of a process and its descendants, ms; 0 off Linux. */
export function treeCpuMs(pid: number): number {
  let ticks = 0;
  const visit = (p: number): void => {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // utime and stime are fields 14 and 15 of stat, 12 and 13 after the command.
      ticks += Number(fields[11]) + Number(fields[12]);
      const children = readFileSync(`/proc/${p}/task/${p}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
      for (const c of children) visit(c);
    } catch {
      // Gone, or not Linux.
    }
  };
  visit(pid);
  return (ticks * 1000) / TICKS_PER_SECOND;
}

/** Sums a metric's samples whose labels include every `labels` pair (Prometheus text format). */
export function metricSum(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== '{' && rest[0] !== ' ') continue;
    if (!Object.entries(labels).every(([k, v]) => rest.includes(`${k}="${v}"`))) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(value)) sum += value;
  }
  return sum;
}

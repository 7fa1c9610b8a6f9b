import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The committed bin shim, run as users run it. From dist/test/helpers/ up to packages/cli/. */
export const CLI_BIN = fileURLToPath(new URL('../../../bin/switchyard.js', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Children still running, so `test.after.always` can kill what a failed test left. */
export const running = new Set<ChildProcess>();

/** Variables that would change what a CLI run connects to or with; only a test's own values count. */
const CLIENT_VARIABLES = [
  'SWITCHYARD_CONTROL_PLANE',
  'SWITCHYARD_TOKEN',
  'SWITCHYARD_TOKENS',
  'SWITCHYARD_TLS_CA',
  'SWITCHYARD_TLS_CERT',
  'SWITCHYARD_TLS_KEY',
  'SWITCHYARD_ETCD_PASSWORD',
];

/**
 * Environment for a CLI run: quiet logs, and none of the caller's control
 * plane, token or TLS variables, so only what a test passes is used.
 */
export function cliEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, SWITCHYARD_LOG_SILENT: '1' };
  for (const name of CLIENT_VARIABLES) delete env[name];
  return { ...env, ...extra };
}

/** Starts `switchyard <args>` without waiting for it. */
export function spawnCli(args: string[], options: { cwd: string; env?: Record<string, string> }): ChildProcess {
  const child = spawn(process.execPath, [CLI_BIN, ...args], { cwd: options.cwd, env: cliEnv(options.env), stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  child.once('exit', () => running.delete(child));
  return child;
}

/** Runs `switchyard <args>` to completion. */
export function runCli(args: string[], options: { cwd: string; env?: Record<string, string> }): Promise<CliResult> {
  const child = spawnCli(args, options);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** SIGKILLs every CLI child still running. */
export function killRunning(): void {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
}

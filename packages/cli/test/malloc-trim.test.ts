// bin/switchyard.js runs `node` and `up` again as a child with MALLOC_TRIM_THRESHOLD_ set (glibc reads it at start).
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import anyTest, { type TestFn } from 'ava';
import { freePort, makeTempDir, removeDir, startEtcd, trackChild, waitFor, type EtcdProcess } from '@switchyard/testkit';
import { CLI_BIN } from './helpers/run-cli.js';

const test = anyTest.serial as TestFn<{ etcd: EtcdProcess; dir: string }>;

test.before(async (t) => {
  t.context = { etcd: await startEtcd(), dir: await makeTempDir('switchyard-cli-malloc-') };
});
test.after.always(async (t) => {
  await t.context.etcd?.destroy();
  if (t.context.dir) await removeDir(t.context.dir);
});

/** The environment of a shell where nobody set the variable. */
function envWithout(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, SWITCHYARD_LOG_SILENT: '1' };
  delete env.MALLOC_TRIM_THRESHOLD_;
  delete env.SWITCHYARD_NO_MALLOC_TRIM;
  delete env.SWITCHYARD_MALLOC_TRIM_CHILD;
  return { ...env, ...extra };
}

async function childrenOf(pid: number): Promise<number[]> {
  const text = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '');
  return text.split(' ').filter(Boolean).map(Number);
}

async function environOf(pid: number): Promise<string[]> {
  return (await readFile(`/proc/${pid}/environ`, 'utf8')).split('\0');
}

/** Gone, or a zombie nobody reaped yet (a container's init may not). */
async function gone(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  return stat === undefined || stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
}

function exitOf(child: ChildProcess): Promise<[number | null, NodeJS.Signals | null]> {
  return new Promise((resolve) =>
    child.exitCode !== null || child.signalCode !== null ? resolve([child.exitCode, child.signalCode]) : child.once('exit', (code, signal) => resolve([code, signal])),
  );
}

/** Starts `switchyard node` and waits until it serves /metrics; everything it started is SIGKILLed when the test ends. */
async function startNode(t: { context: { etcd: EtcdProcess; dir: string }; teardown: (fn: () => unknown) => void }, name: string, env: NodeJS.ProcessEnv): Promise<{ parent: ChildProcess; pids: () => Promise<number[]> }> {
  const metrics = `127.0.0.1:${await freePort()}`;
  const args = ['node', '--etcd', t.context.etcd.endpoint, '--listen', '127.0.0.1:0', '--metrics-listen', metrics, '--data-dir', join(t.context.dir, name), '--id', `malloc-${name}`, '--prefix', `/malloc-${name}/`, '--drain-grace', '0s'];
  const parent = spawn(process.execPath, [CLI_BIN, ...args], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  trackChild(parent);
  const seen = new Set<number>();
  const pids = async (): Promise<number[]> => {
    for (const pid of await childrenOf(parent.pid!)) seen.add(pid);
    return [...seen];
  };
  t.teardown(async () => {
    for (const pid of [parent.pid!, ...(await pids())]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  });
  await waitFor(
    async () => {
      await pids();
      return (await fetch(`http://${metrics}/metrics`)).ok;
    },
    { timeoutMs: 30_000, intervalMs: 100, message: 'the node to serve /metrics' },
  );
  return { parent, pids };
}

test('switchyard node serves from a child started with MALLOC_TRIM_THRESHOLD_; SIGTERM stops both with exit 0', async (t) => {
  const { parent, pids } = await startNode(t, 'sigterm', envWithout());
  const [child, ...more] = await pids();
  t.truthy(child);
  t.deepEqual(more, [], 'one serving process');
  t.true((await environOf(child!)).includes('MALLOC_TRIM_THRESHOLD_=131072'));
  t.false((await environOf(parent.pid!)).some((v) => v.startsWith('MALLOC_TRIM_THRESHOLD_=')));

  parent.kill('SIGTERM');
  t.deepEqual(await exitOf(parent), [0, null], 'the child drained and exited 0, and so did the parent');
  t.true(await gone(child!));
});

test('if the parent is killed outright, the serving child stops by itself', async (t) => {
  const { parent, pids } = await startNode(t, 'sigkill', envWithout());
  const [child] = await pids();
  parent.kill('SIGKILL');
  await exitOf(parent);
  await waitFor(() => gone(child!), { timeoutMs: 30_000, message: 'the orphaned child to stop' });
  t.pass();
});

test('SWITCHYARD_NO_MALLOC_TRIM serves in the process started, as does an environment that sets the variable', async (t) => {
  for (const [name, env] of [
    ['opt-out', envWithout({ SWITCHYARD_NO_MALLOC_TRIM: '1' })],
    ['preset', envWithout({ MALLOC_TRIM_THRESHOLD_: '262144' })],
  ] as const) {
    const { parent, pids } = await startNode(t, name, env);
    t.deepEqual(await pids(), [], `${name}: no child`);
    parent.kill('SIGTERM');
    t.deepEqual(await exitOf(parent), [0, null], name);
  }
});

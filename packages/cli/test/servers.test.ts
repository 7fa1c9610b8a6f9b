import type { ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import anyTest, { type TestFn } from 'ava';
import { freePort, linearModel, makeTempDir, removeDir, startEtcd, waitFor, type EtcdProcess } from '@switchyard/testkit';
import { killRunning, runCli, spawnCli } from './helpers/run-cli.js';

const test = anyTest as TestFn<{ etcd: EtcdProcess; dir: string }>;

test.before(async (t) => {
  const dir = await makeTempDir('switchyard-cli-servers-');
  await writeFile(join(dir, 'linear.onnx'), linearModel({ weights: [1, 1], bias: 0 }));
  t.context = { etcd: await startEtcd(), dir };
});

test.after.always(async (t) => {
  killRunning();
  await t.context.etcd?.destroy();
  if (t.context.dir) await removeDir(t.context.dir);
});

function exitOf(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code))));
}

test('control-plane and node run as their own processes, serve a deploy, and exit 0 on SIGTERM', async (t) => {
  const { etcd, dir } = t.context;
  const admin = `127.0.0.1:${await freePort()}`;
  const nodeAddress = `127.0.0.1:${await freePort()}`;
  const metrics = `127.0.0.1:${await freePort()}`;
  const prefix = '/servers-test/';
  const controlPlane = spawnCli(
    ['control-plane', '--etcd', etcd.endpoint, '--listen', admin, '--data-dir', join(dir, 'cp'), '--prefix', prefix, '--insecure-no-auth'],
    { cwd: dir },
  );
  const node = spawnCli(
    ['node', '--etcd', etcd.endpoint, '--listen', nodeAddress, '--data-dir', join(dir, 'n1'), '--id', 'n1', '--metrics-listen', metrics, '--prefix', prefix],
    { cwd: dir },
  );
  const env = { SWITCHYARD_CONTROL_PLANE: admin };
  // Up once the control plane answers and the node has registered.
  await waitFor(
    async () => {
      const r = await runCli(['deploy', 'sum', 'linear.onnx', '--timeout', '10s', '-o', 'json'], { cwd: dir, env });
      if (r.code === 3 || r.code === 4) return false;
      t.is(r.code, 0, r.stderr);
      return true;
    },
    { timeoutMs: 30_000, intervalMs: 200, message: 'the control plane and node to serve a deploy' },
  );
  const predicted = await runCli(['predict', 'sum', '-i', 'x=[[2,3]]', '-o', 'json'], { cwd: dir, env });
  t.is(predicted.code, 0, predicted.stderr);
  t.deepEqual((JSON.parse(predicted.stdout) as { outputs: { y: { data: number[][] } } }).outputs.y.data, [[5]]);

  controlPlane.kill('SIGTERM');
  node.kill('SIGTERM');
  t.is(await exitOf(controlPlane), 0);
  t.is(await exitOf(node), 0);
});

test('control-plane without an access-control choice exits 2', async (t) => {
  const result = await runCli(
    ['control-plane', '--etcd', t.context.etcd.endpoint, '--listen', '127.0.0.1:0', '--data-dir', join(t.context.dir, 'cp2')],
    { cwd: t.context.dir, env: { SWITCHYARD_TOKENS: '' } },
  );
  t.is(result.code, 2);
  t.regex(result.stderr, /--tokens-file .*--insecure-no-auth/);
});

// `--lease-ttl` reaches the etcd lease that `switchyard node` and
// `switchyard control-plane` bind their registrations to.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import anyTest, { type TestFn } from 'ava';
import { KeyLayout } from '@switchyard/core';
import { freePort, makeTempDir, removeDir, startEtcd, waitFor, type EtcdProcess } from '@switchyard/testkit';
import { killRunning, runCli, spawnCli } from './helpers/run-cli.js';

const test = anyTest as TestFn<{ etcd: EtcdProcess; dir: string }>;
const run = promisify(execFile);

test.before(async (t) => {
  t.context = { etcd: await startEtcd(), dir: await makeTempDir('switchyard-cli-lease-') };
});

test.after.always(async (t) => {
  killRunning();
  await t.context.etcd?.destroy();
  if (t.context.dir) await removeDir(t.context.dir);
});

/** The TTL granted to the lease `key` is bound to, read with etcdctl as an operator would; undefined while the key is absent. */
async function grantedTtl(endpoint: string, key: string): Promise<number | undefined> {
  const env = { ...process.env, ETCDCTL_API: '3' };
  const got = await run('etcdctl', ['--endpoints', endpoint, 'get', key, '-w', 'json'], { env });
  // Lease ids are 64-bit: JSON.parse would round them, so read the digits.
  const lease = /"lease":(\d+)/.exec(got.stdout)?.[1];
  if (lease === undefined) return undefined;
  const ttl = await run('etcdctl', ['--endpoints', endpoint, 'lease', 'timetolive', BigInt(lease).toString(16)], { env });
  const match = /granted with TTL\((\d+)s\)/.exec(ttl.stdout);
  return match ? Number(match[1]) : undefined;
}

test('node and control-plane bind their registrations to a lease of --lease-ttl seconds', async (t) => {
  const { etcd, dir } = t.context;
  const prefix = '/lease-ttl-test/';
  const keys = new KeyLayout(prefix);
  spawnCli(
    ['control-plane', '--etcd', etcd.endpoint, '--listen', `127.0.0.1:${await freePort()}`, '--data-dir', join(dir, 'cp'), '--prefix', prefix,
      '--insecure-no-auth', '--id', 'cp-1', '--lease-ttl', '7'],
    { cwd: dir },
  );
  spawnCli(
    ['node', '--etcd', etcd.endpoint, '--listen', `127.0.0.1:${await freePort()}`, '--data-dir', join(dir, 'n1'), '--id', 'n1', '--prefix', prefix,
      '--metrics-listen', `127.0.0.1:${await freePort()}`, '--lease-ttl', '9'],
    { cwd: dir },
  );
  let node: number | undefined;
  let controlPlane: number | undefined;
  await waitFor(
    async () => {
      node ??= await grantedTtl(etcd.endpoint, keys.node('n1'));
      controlPlane ??= await grantedTtl(etcd.endpoint, keys.controlPlane('cp-1'));
      return node !== undefined && controlPlane !== undefined;
    },
    { timeoutMs: 30_000, intervalMs: 200, message: 'both registrations in etcd' },
  );
  t.is(node, 9);
  t.is(controlPlane, 7);
});

test('--lease-ttl below 2 seconds or not a whole number exits 2 naming the flag', async (t) => {
  const { etcd, dir } = t.context;
  const base = ['--etcd', etcd.endpoint, '--listen', '127.0.0.1:0', '--data-dir', join(dir, 'bad')];
  const cases = [
    ['node', ...base, '--id', 'n', '--metrics-listen', '127.0.0.1:0', '--lease-ttl', '1'],
    ['control-plane', ...base, '--insecure-no-auth', '--lease-ttl', '10s'],
  ];
  for (const result of await Promise.all(cases.map((args) => runCli(args, { cwd: dir })))) {
    t.is(result.code, 2, result.stderr);
    t.regex(result.stderr, /--lease-ttl must be a whole number 2 or more/);
  }
});

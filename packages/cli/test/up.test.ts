import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { makeTempDir, removeDir, waitFor } from '@switchyard/testkit';
import { ETCD_COMPACTION_ARGS } from '@switchyard/core/etcd-server';
import type { ClusterFile } from '../src/cluster-file.js';
import { LOCAL_ETCD_QUOTA_BYTES } from '../src/etcd-child.js';
import { killRunning, runCli, spawnCli } from './helpers/run-cli.js';

let dir: string | undefined;
let etcdPid: number | undefined;

test.after.always(async () => {
  killRunning();
  // up's etcd runs in its own process group, so a killed `up` could leave it behind.
  if (etcdPid !== undefined && alive(etcdPid)) process.kill(etcdPid, 'SIGKILL');
  if (dir) await removeDir(dir);
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('up runs a cluster with auth on and the demo model, serves clients with no flags, and stops cleanly on SIGTERM', async (t) => {
  dir = await makeTempDir('switchyard-up-test-');
  // The default data dir, .switchyard in the working directory, as in the quick start.
  const dataDir = join(dir, '.switchyard');
  const up = spawnCli(['up', '--nodes', '1'], { cwd: dir });
  let stdout = '';
  let stderr = '';
  up.stdout!.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  up.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const exited = new Promise<number | null>((resolve) => up.once('exit', (code) => resolve(code)));

  await waitFor(() => stdout.includes('cluster is up') || up.exitCode !== null, { timeoutMs: 90_000, intervalMs: 100, message: '"cluster is up"' });
  t.true(stdout.includes('cluster is up'), `stdout:\n${stdout}\nstderr:\n${stderr}`);
  t.regex(stdout, /deployed demo:v1 .*READY on 1\/1 nodes/);
  t.regex(stdout, /predicted demo x=\[\[1,2,3\]\] -> y=\[\[4\.75\]\] \(answered by demo:v1 on /);
  t.regex(stdout, /switchyard predict demo --input x='\[\[1,2,3\]\]'/);

  const cluster = JSON.parse(readFileSync(join(dataDir, 'cluster.json'), 'utf8')) as ClusterFile;
  etcdPid = cluster.etcdPid;
  t.true(alive(etcdPid));
  // etcd compacts its history and has a quota, so the cluster cannot fill it for good (issue #14).
  const etcdArgs = readFileSync(`/proc/${etcdPid}/cmdline`, 'utf8').split('\0');
  for (const flag of ETCD_COMPACTION_ARGS) t.true(etcdArgs.includes(flag), `etcd runs without ${flag}`);
  t.true(etcdArgs.includes(`--quota-backend-bytes=${LOCAL_ETCD_QUOTA_BYTES}`), etcdArgs.join(' '));
  t.is(cluster.nodes.length, 1);
  // The web console is on by default; its URL is printed and recorded.
  t.regex(cluster.consoleUrl ?? '', /^http:\/\/127\.0\.0\.1:\d+\/$/);
  t.true(stdout.includes(`console        ${cluster.consoleUrl}`), stdout);
  const page = await fetch(cluster.consoleUrl!);
  t.is(page.status, 200);
  t.regex(page.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);

  // Access control is on: a local admin token, stored hashed, and in clear for the CLI; both owner-only.
  t.regex(stdout, /access +tokens on: admin token 'local-admin' in \.switchyard\/token/);
  const tokens = JSON.parse(readFileSync(join(dataDir, 'tokens.json'), 'utf8')) as { tokens: { name: string; role: string }[] };
  t.deepEqual(tokens.tokens.map((e) => [e.name, e.role]), [['local-admin', 'admin']]);
  t.is(statSync(join(dataDir, 'tokens.json')).mode & 0o777, 0o600);
  t.is(statSync(join(dataDir, 'token')).mode & 0o777, 0o600);

  // Other commands find the cluster and its token through the data dir alone: no flags.
  const status = await runCli(['status', 'demo'], { cwd: dir });
  t.is(status.code, 0, status.stderr);
  t.regex(status.stdout, /route: v1 100%/);
  const who = await runCli(['whoami', '-o', 'json'], { cwd: dir });
  t.deepEqual(JSON.parse(who.stdout), { name: 'local-admin', role: 'admin', auth_enabled: true });
  // Without the token the control plane refuses: auth really is on.
  const anonymous = await runCli(['status', 'demo', '--control-plane', cluster.controlPlane, '--data-dir', join(dir, 'elsewhere')], { cwd: dir });
  t.is(anonymous.code, 5, anonymous.stderr);

  up.kill('SIGTERM');
  t.is(await exited, 0, stderr);
  await waitFor(() => !alive(etcdPid!), { timeoutMs: 5000, message: 'etcd to be gone' });
  t.false(alive(etcdPid));
  t.false(existsSync(join(dataDir, 'cluster.json')));
});

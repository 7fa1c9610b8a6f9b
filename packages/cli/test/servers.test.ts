import { createServer } from 'node:net';
import type { ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import anyTest, { type TestFn } from 'ava';
import { addToken } from '@switchyard/core';
import { freePort, generateTestCertificates, linearModel, makeTempDir, removeDir, startEtcd, waitFor, type EtcdProcess } from '@switchyard/testkit';
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

test('with tokens and TLS: the node fetches with its token over TLS, the CLI deploys and predicts over TLS', async (t) => {
  const { etcd, dir } = t.context;
  const certs = await generateTestCertificates();
  t.teardown(() => removeDir(certs.dir));
  const tokensFile = join(dir, 'tokens.json');
  const adminToken = await addToken(tokensFile, { name: 'ops', role: 'admin' });
  const nodeToken = await addToken(tokensFile, { name: 'nodes', role: 'viewer' });
  const admin = `127.0.0.1:${await freePort()}`;
  const nodeAddress = `127.0.0.1:${await freePort()}`;
  const prefix = '/servers-tls-test/';
  const serverTls = ['--tls-cert', certs.serverCertFile, '--tls-key', certs.serverKeyFile];
  const controlPlane = spawnCli(
    ['control-plane', '--etcd', etcd.endpoint, '--listen', admin, '--data-dir', join(dir, 'cp-tls'), '--prefix', prefix,
      '--tokens-file', tokensFile, ...serverTls, '--validation-timeout', '20s', '--max-artifact-bytes', '64MiB', '--shadow-keeper-interval', '750ms'],
    { cwd: dir },
  );
  const node = spawnCli(
    ['node', '--etcd', etcd.endpoint, '--listen', nodeAddress, '--data-dir', join(dir, 'n-tls'), '--id', 'n-tls', '--prefix', prefix,
      '--metrics-listen', `127.0.0.1:${await freePort()}`, ...serverTls, '--control-plane-tls-ca', certs.caFile],
    { cwd: dir, env: { SWITCHYARD_TOKEN: nodeToken } },
  );
  const env = { SWITCHYARD_CONTROL_PLANE: admin, SWITCHYARD_TOKEN: adminToken, SWITCHYARD_TLS_CA: certs.caFile };
  await waitFor(
    async () => {
      const r = await runCli(['deploy', 'sum', 'linear.onnx', '--timeout', '10s', '-o', 'json'], { cwd: dir, env });
      if (r.code === 3 || r.code === 4) return false;
      t.is(r.code, 0, r.stderr);
      return true;
    },
    { timeoutMs: 30_000, intervalMs: 200, message: 'the TLS control plane and node to serve a deploy' },
  );
  const predicted = await runCli(['predict', 'sum', '-i', 'x=[[2,3]]', '-o', 'json'], { cwd: dir, env });
  t.is(predicted.code, 0, predicted.stderr);
  t.deepEqual((JSON.parse(predicted.stdout) as { outputs: { y: { data: number[][] } } }).outputs.y.data, [[5]]);
  const plaintextPredict = await runCli(['predict', 'sum', '-i', 'x=[[2,3]]', '--node', nodeAddress], { cwd: dir });
  t.is(plaintextPredict.code, 3, plaintextPredict.stderr);

  controlPlane.kill('SIGTERM');
  node.kill('SIGTERM');
  t.is(await exitOf(controlPlane), 0);
  t.is(await exitOf(node), 0);
});

test('server flags are checked before anything starts: exit 2 naming the flag', async (t) => {
  const { etcd, dir } = t.context;
  const base = ['--etcd', etcd.endpoint, '--listen', '127.0.0.1:0', '--data-dir', join(dir, 'cp3')];
  const cases: [string[], Record<string, string>, RegExp][] = [
    [['control-plane', ...base, '--insecure-no-auth', '--tls-cert', 'missing.pem', '--tls-key', 'missing.key'], {}, /--tls-cert: cannot read missing\.pem/],
    [['control-plane', ...base, '--insecure-no-auth', '--tls-client-ca', 'ca.pem'], {}, /--tls-client-ca needs --tls-cert and --tls-key/],
    [['control-plane', ...base, '--insecure-no-auth', '--validation-timeout', 'soon'], {}, /--validation-timeout 'soon' is not a duration/],
    [['control-plane', ...base, '--insecure-no-auth', '--max-artifact-bytes', 'lots'], {}, /--max-artifact-bytes 'lots' is not a size/],
    [['control-plane', ...base, '--insecure-no-auth', '--shadow-keeper-interval', 'often'], {}, /--shadow-keeper-interval 'often' is not a duration/],
    [['control-plane', ...base, '--insecure-no-auth', '--shadow-keeper-interval', '0s'], {}, /--shadow-keeper-interval must be more than 0/],
    [['control-plane', ...base, '--insecure-no-auth', '--etcd-user', 'root'], {}, /--etcd-user needs a password: set SWITCHYARD_ETCD_PASSWORD/],
    [['control-plane', ...base, '--insecure-no-auth', '--etcd-ca', 'missing-ca.pem'], {}, /--etcd-ca: cannot read missing-ca\.pem/],
    [['node', ...base, '--id', 'n', '--metrics-listen', '127.0.0.1:0', '--control-plane-tls-cert', 'c.pem'], {}, /--control-plane-tls-cert needs --control-plane-tls-key/],
    [['up', '--etcd-user', 'root'], { SWITCHYARD_ETCD_PASSWORD: 'secret' }, /need --etcd: the etcd that up starts itself is plaintext/],
    // Ranges are the node's own option checks (resolvePredictionNodeOptions), restated with the flag.
    [['node', ...base, '--id', 'n', '--metrics-listen', '127.0.0.1:0', '--shadow-concurrency', '0'], {}, /--shadow-concurrency must be a whole number from 1 to 1024, got 0/],
    [['node', ...base, '--id', 'Node 1', '--metrics-listen', '127.0.0.1:0'], {}, /--id 'Node 1' must be 1 to 64 characters/],
  ];
  const results = await Promise.all(cases.map(([args, env]) => runCli(args, { cwd: dir, env })));
  cases.forEach(([args, , pattern], i) => {
    t.is(results[i]!.code, 2, `${args.join(' ')}: ${results[i]!.stderr}`);
    t.regex(results[i]!.stderr, pattern);
    t.false(results[i]!.stderr.includes('secret'), 'the etcd password is never echoed');
  });
});

test('a node whose port is taken exits 3 at once, saying which address could not be bound', async (t) => {
  const { etcd, dir } = t.context;
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => taken.close(() => resolve())));
  const listen = `127.0.0.1:${(taken.address() as { port: number }).port}`;
  const result = await runCli(['node', '--etcd', etcd.endpoint, '--listen', listen, '--data-dir', join(dir, 'n-taken'), '--id', 'n-taken', '--metrics-listen', '127.0.0.1:0'], { cwd: dir });
  t.is(result.code, 3, result.stderr);
  t.regex(result.stderr, new RegExp(`could not listen on ${listen.replace(/\./g, '\\.')}`));
});

test('control-plane without an access-control choice exits 2', async (t) => {
  const result = await runCli(
    ['control-plane', '--etcd', t.context.etcd.endpoint, '--listen', '127.0.0.1:0', '--data-dir', join(t.context.dir, 'cp2')],
    { cwd: t.context.dir, env: { SWITCHYARD_TOKENS: '' } },
  );
  t.is(result.code, 2);
  t.regex(result.stderr, /--tokens-file .*--insecure-no-auth/);
});

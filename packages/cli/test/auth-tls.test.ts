import { statSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import anyTest, { type TestFn } from 'ava';
import type { Etcd3 } from 'etcd3';
import { hashToken, KeyLayout } from '@switchyard/core';
import { createEtcdClient } from '@switchyard/core/etcd';
import { silentLogger } from '@switchyard/core/logging';
import { ControlPlane } from '@switchyard/control-plane';
import { generateTestCertificates, linearModel, makeTempDir, removeDir, startEtcd, type EtcdProcess, type TestCertificates } from '@switchyard/testkit';
import { killRunning, runCli, type CliResult } from './helpers/run-cli.js';

interface Context {
  etcd: EtcdProcess;
  clients: Etcd3[];
  dir: string;
  certs: TestCertificates;
  /** Tokens and TLS. */
  secure: ControlPlane;
  /** Tokens and mutual TLS. */
  mutual: ControlPlane;
  opsToken: string;
  readerToken: string;
}

const test = anyTest as TestFn<Context>;

test.before(async (t) => {
  const dir = await makeTempDir('switchyard-cli-auth-');
  await writeFile(join(dir, 'linear.onnx'), linearModel({ weights: [1, 2, 3], bias: 0 }));
  const [etcd, certs] = await Promise.all([startEtcd(), generateTestCertificates()]);
  // The tokens file is made the way an operator would: with `switchyard token add`.
  const tokensFile = join(dir, 'tokens.json');
  const ops = await runCli(['token', 'add', '--name', 'ops', '--role', 'admin', '--tokens-file', tokensFile, '-o', 'json'], { cwd: dir });
  const reader = await runCli(['token', 'add', '--name', 'reader', '--role', 'viewer', '--tokens-file', tokensFile], { cwd: dir });
  if (ops.code !== 0 || reader.code !== 0) throw new Error(`token add failed: ${ops.stderr}${reader.stderr}`);
  const clients: Etcd3[] = [];
  const client = (): Etcd3 => {
    const c = createEtcdClient({ endpoints: etcd.endpoint });
    clients.push(c);
    return c;
  };
  const tls = { certFile: certs.serverCertFile, keyFile: certs.serverKeyFile };
  const secure = await ControlPlane.create({
    etcd: client(), keys: new KeyLayout('/cli-secure/'), dataDir: join(dir, 'secure'), logger: silentLogger(), auth: { tokensFile }, tls,
  });
  const mutual = await ControlPlane.create({
    etcd: client(), keys: new KeyLayout('/cli-mutual/'), dataDir: join(dir, 'mutual'), logger: silentLogger(), auth: { tokensFile },
    tls: { ...tls, clientCaFile: certs.caFile },
  });
  t.context = {
    etcd, clients, dir, certs, secure, mutual,
    opsToken: (JSON.parse(ops.stdout) as { token: string }).token,
    readerToken: reader.stdout.trim(),
  };
});

test.after.always(async (t) => {
  killRunning();
  await t.context.secure?.stop();
  await t.context.mutual?.stop();
  for (const c of t.context.clients ?? []) c.close();
  await t.context.etcd?.destroy();
  if (t.context.certs) await removeDir(t.context.certs.dir);
  if (t.context.dir) await removeDir(t.context.dir);
});

/** The CLI against the TLS control plane, trusting the test CA. */
function secure(t: { context: Context }, args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return runCli([...args, '--control-plane', t.context.secure.address, '--tls-ca', t.context.certs.caFile], { cwd: t.context.dir, env });
}

test.serial('token add prints the token once, stores only its hash, in a 0600 file', async (t) => {
  const file = join(t.context.dir, 'tokens.json');
  t.is(statSync(file).mode & 0o777, 0o600);
  const stored = JSON.parse(await readFile(file, 'utf8')) as { tokens: { name: string; role: string; sha256: string }[] };
  t.deepEqual(stored.tokens.map((e) => [e.name, e.role]), [['ops', 'admin'], ['reader', 'viewer']]);
  t.is(stored.tokens[1]!.sha256, hashToken(t.context.readerToken));
  t.false((await readFile(file, 'utf8')).includes(t.context.readerToken));
  t.regex(t.context.readerToken, /^sy_[A-Za-z0-9_-]{43}$/);

  const hashed = await runCli(['token', 'hash', t.context.readerToken], { cwd: t.context.dir });
  t.is(hashed.stdout.trim(), hashToken(t.context.readerToken));
  const twice = await runCli(['token', 'add', '--name', 'ops', '--role', 'viewer', '--tokens-file', file], { cwd: t.context.dir });
  t.is(twice.code, 1);
  t.regex(twice.stderr, /already has a token named 'ops'/);
  const badName = await runCli(['token', 'add', '--name', 'Bad Name', '--role', 'viewer', '--tokens-file', file], { cwd: t.context.dir });
  t.is(badName.code, 2, badName.stderr);
});

test.serial('an admin token over TLS deploys; the token and CA may come from the environment', async (t) => {
  const who = await secure(t, ['whoami', '--token', t.context.opsToken, '-o', 'json']);
  t.is(who.code, 0, who.stderr);
  t.deepEqual(JSON.parse(who.stdout), { name: 'ops', role: 'admin', auth_enabled: true });

  const env = { SWITCHYARD_TOKEN: t.context.opsToken, SWITCHYARD_TLS_CA: t.context.certs.caFile, SWITCHYARD_CONTROL_PLANE: t.context.secure.address };
  const deployed = await runCli(['deploy', 'sum', 'linear.onnx', '--no-route', '-o', 'json'], { cwd: t.context.dir, env });
  t.is(deployed.code, 0, deployed.stderr);
  t.is((JSON.parse(deployed.stdout) as { version: string }).version, 'v1');
  const history = await runCli(['history', 'sum', '-o', 'json'], { cwd: t.context.dir, env });
  t.is((JSON.parse(history.stdout) as { entries: { actor: string }[] }).entries[0]?.actor, 'ops');
});

test.serial('a viewer token reads but cannot change the route: exit 5', async (t) => {
  const token = ['--token', t.context.readerToken];
  const listed = await secure(t, ['versions', 'list', 'sum', ...token, '-o', 'json']);
  t.is(listed.code, 0, listed.stderr);
  const status = await secure(t, ['status', 'sum', ...token, '-o', 'json']);
  t.is(status.code, 0, status.stderr);
  const denied = await secure(t, ['route', 'set', 'sum', 'v1=100', ...token]);
  t.is(denied.code, 5);
  t.regex(denied.stderr, /^error: PERMISSION_DENIED: token 'reader' has role viewer; SetRoute needs deployer \(ask an admin for a token with that role\)/);
});

test('a missing or unknown token exits 5 with how to pass one', async (t) => {
  const missing = await secure(t, ['status', 'sum']);
  t.is(missing.code, 5);
  t.regex(missing.stderr, /^error: UNAUTHENTICATED: missing or unknown token; pass one with --token or SWITCHYARD_TOKEN/);
  const unknown = await secure(t, ['status', 'sum'], { SWITCHYARD_TOKEN: 'sy_not-a-real-token' });
  t.is(unknown.code, 5);
  t.regex(unknown.stderr, /the token sent came from SWITCHYARD_TOKEN/);
});

test('without --tls-ca, or trusting another CA, the TLS control plane is unreachable: exit 3 with the hint', async (t) => {
  const { secure: cp, certs, dir, opsToken } = t.context;
  const plaintext = await runCli(['whoami', '--control-plane', cp.address, '--token', opsToken], { cwd: dir });
  t.is(plaintext.code, 3, plaintext.stderr);
  t.regex(plaintext.stderr, /cannot reach the control plane .*pass its CA with --tls-ca/);
  const otherCa = await runCli(['whoami', '--control-plane', cp.address, '--token', opsToken, '--tls-ca', certs.otherCaFile], { cwd: dir });
  t.is(otherCa.code, 3, otherCa.stderr);
});

test('mutual TLS: the client certificate from --tls-cert/--tls-key is required', async (t) => {
  const { mutual, certs, dir, opsToken } = t.context;
  const base = ['whoami', '--control-plane', mutual.address, '--token', opsToken, '--tls-ca', certs.caFile, '-o', 'json'];
  const withCert = await runCli([...base, '--tls-cert', certs.clientCertFile, '--tls-key', certs.clientKeyFile], { cwd: dir });
  t.is(withCert.code, 0, withCert.stderr);
  t.is((JSON.parse(withCert.stdout) as { name: string }).name, 'ops');
  const withoutCert = await runCli(base, { cwd: dir });
  t.is(withoutCert.code, 3, withoutCert.stderr);
});

import test from 'ava';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Etcd3 } from 'etcd3';
import { removeDir, startEtcd, startEtcdCluster, trackedPids, waitFor, type EtcdCluster, type EtcdProcess } from '../src/index.js';

const cleanups: (() => Promise<void>)[] = [];
test.after.always(async () => {
  await Promise.all(cleanups.map((cleanup) => cleanup()));
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function withClient<T>(hosts: string | string[], use: (client: Etcd3) => Promise<T>): Promise<T> {
  const client = new Etcd3({ hosts });
  try {
    return await use(client);
  } finally {
    client.close();
  }
}

async function started(): Promise<EtcdProcess> {
  const etcd = await startEtcd();
  cleanups.push(() => etcd.destroy());
  return etcd;
}

test('a single member serves puts and gets on loopback', async (t) => {
  const etcd = await started();
  t.regex(etcd.endpoint, /^http:\/\/127\.0\.0\.1:\d+$/);
  t.is(etcd.endpoint, `http://127.0.0.1:${etcd.clientPort}`);
  t.not(etcd.clientPort, etcd.peerPort);
  t.true(typeof etcd.pid === 'number' && isAlive(etcd.pid));
  t.true(trackedPids().includes(etcd.pid!));
  t.true(existsSync(etcd.logFile));

  const value = await withClient(etcd.endpoint, async (client) => {
    await client.put('greeting').value('hello');
    return client.get('greeting').string();
  });
  t.is(value, 'hello');
});

test('stop and start keep the data; kill ends the process; destroy removes the data dir', async (t) => {
  const etcd = await started();
  const { dataDir } = etcd;
  await withClient(etcd.endpoint, async (client) => {
    await client.put('durable').value('yes');
  });

  const firstPid = etcd.pid!;
  await etcd.stop();
  t.is(etcd.pid, undefined);
  t.false(isAlive(firstPid));
  t.false(trackedPids().includes(firstPid));

  await etcd.start();
  t.not(etcd.pid, undefined);
  t.is(await withClient(etcd.endpoint, (client) => client.get('durable').string()), 'yes');

  const secondPid = etcd.pid!;
  await etcd.kill();
  t.is(etcd.pid, undefined);
  t.false(isAlive(secondPid));

  // A SIGKILLed member recovers from its WAL too.
  await etcd.start();
  t.is(await withClient(etcd.endpoint, (client) => client.get('durable').string()), 'yes');

  const thirdPid = etcd.pid!;
  await etcd.destroy();
  t.false(isAlive(thirdPid));
  t.false(existsSync(dataDir));
  await t.throwsAsync(() => etcd.start(), { message: /after destroy/ });
});

test('a caller-owned data dir survives destroy()', async (t) => {
  const first = await started();
  const dataDir = `${first.dataDir}-owned`;
  cleanups.push(() => removeDir(dataDir));
  const etcd = await startEtcd({ dataDir, name: 'owned' });
  cleanups.push(() => etcd.destroy());
  t.is(etcd.dataDir, dataDir);
  await etcd.destroy();
  t.true(existsSync(dataDir));
});

test('a member that cannot bind its port fails fast with the log tail', async (t) => {
  const etcd = await started();
  const started_ = Date.now();
  const error = await t.throwsAsync(() => startEtcd({ clientPort: etcd.clientPort }));
  t.regex(error?.message ?? '', /exited during startup/);
  t.regex(error?.message ?? '', /address already in use/);
  t.true(Date.now() - started_ < 10_000);
});

async function orphanedEtcd(how: 'exit' | 'SIGTERM'): Promise<{ pid: number; code: number | null; signal: string | null }> {
  const fixture = fileURLToPath(new URL('./fixtures/crash-with-etcd.js', import.meta.url));
  const child = spawn(process.execPath, [fixture, how], { stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  const [code, signal] = (await once(child, 'exit')) as [number | null, string | null];
  const { pid, dataDir } = JSON.parse(stdout) as { pid: number; dataDir: string };
  cleanups.push(() => removeDir(dataDir));
  return { pid, code, signal };
}

test('a process that exits takes its etcd children with it', async (t) => {
  const { pid, code } = await orphanedEtcd('exit');
  t.is(code, 3);
  await waitFor(() => !isAlive(pid), { timeoutMs: 5_000, message: `orphaned etcd ${pid} to die` });
  t.pass();
});

test('a process killed by SIGTERM takes its etcd children with it and still dies of the signal', async (t) => {
  const { pid, signal } = await orphanedEtcd('SIGTERM');
  t.is(signal, 'SIGTERM');
  await waitFor(() => !isAlive(pid), { timeoutMs: 5_000, message: `orphaned etcd ${pid} to die` });
  t.pass();
});

test('a three-member cluster replicates a put to every member', async (t) => {
  const cluster: EtcdCluster = await startEtcdCluster(3);
  cleanups.push(() => cluster.destroy());
  t.is(cluster.members.length, 3);
  t.deepEqual(
    cluster.endpoints,
    cluster.members.map((m) => m.endpoint),
  );
  t.is(new Set(cluster.endpoints).size, 3);

  await withClient(cluster.endpoints, async (client) => {
    await client.put('replicated').value('everywhere');
  });
  for (const endpoint of cluster.endpoints) {
    // Serializable reads are answered by this member alone, proving it holds the data.
    await waitFor(
      () =>
        withClient(endpoint, async (client) => (await client.get('replicated').serializable(true).string()) === 'everywhere'),
      { message: `key on ${endpoint}` },
    );
  }

  const dirs = cluster.members.map((m) => m.dataDir);
  await cluster.destroy();
  t.true(cluster.members.every((m) => m.pid === undefined));
  t.true(dirs.every((dir) => !existsSync(dir)));
});

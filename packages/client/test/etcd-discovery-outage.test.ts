import { fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { startEtcd, trackChild } from '@switchyard/testkit';

const fixture = fileURLToPath(new URL('./fixtures/discovery-in-outage.js', import.meta.url));

test('etcd discovery closed during an etcd outage lets the process exit', async (t) => {
  const etcd = await startEtcd();
  t.teardown(() => etcd.destroy());
  const child = fork(fixture, [etcd.endpoint], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  trackChild(child);
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  const messages: string[] = [];
  child.on('message', (m) => messages.push(String(m)));

  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`fixture exited early with ${code}`)));
  });
  await etcd.kill();
  child.send('close');

  // Bounded: a watcher nobody can cancel would keep etcd3 reconnecting forever.
  const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 30_000).unref());
  const result = await Promise.race([exited, timeout]);
  t.not(result, 'timeout', 'the process did not exit within 30 s of closing its discoveries');
  if (result !== 'timeout') t.deepEqual(result, [0, null]);
  t.deepEqual(messages, ['started', 'start during the outage rejected']);
});

import type { SerialFn, TestFn } from 'ava';
import { startEtcd, type EtcdProcess } from '@switchyard/testkit';

/** One real etcd for the whole test file, started before its tests and destroyed after; read it through the returned getter. */
export function useRealEtcd(test: TestFn<unknown> | SerialFn<unknown>): () => EtcdProcess {
  let etcd: EtcdProcess | undefined;
  test.before(async () => {
    etcd = await startEtcd();
  });
  test.after.always(async () => {
    await etcd?.destroy();
  });
  return () => {
    if (!etcd) throw new Error('etcd is not started yet: read it inside a test');
    return etcd;
  };
}

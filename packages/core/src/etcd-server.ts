// '@switchyard/core/etcd-server': runs an etcd member as a child process on
// loopback, for `switchyard up` and the test kit alike.
export {
  ETCD_COMPACTION_ARGS,
  EtcdMemberRun,
  EtcdStartError,
  etcdMemberArgs,
  findEtcdBinary,
  isEtcdProcess,
  isOurMemberHealthy,
  logTail,
  loopbackUrl,
  type EtcdMemberConfig,
} from './etcd-member.js';

// '@switchyard/core/etcd-server': runs an etcd member as a child process on
// loopback, for `switchyard up` and the test kit alike.
export {
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

// '@switchyard/core/etcd': the etcd client with the project's retry and circuit-breaker policy; loads etcd3.
export {
  createEtcdClient,
  isTransientEtcdError,
} from './etcd-client.js';

export { readPrefixPaged, readRangePaged, type KeyRange, type PagedRead, type PagedReadOptions } from './etcd-pages.js';

// @switchyard/e2e: end-to-end tests, and the in-process test cluster other
// packages' tests drive (the CLI's tests run it and call the CLI against it).
export { outputValues, TestCluster, type TestClusterOptions } from './test-cluster.js';
export { unary } from './grpc-call.js';
export { TestPlacer } from './test-placer.js';

// The test cluster lives in src/ so the CLI's tests use the same one ('@switchyard/e2e').
export { outputValues, TestCluster, type TestClusterOptions } from '../../src/test-cluster.js';

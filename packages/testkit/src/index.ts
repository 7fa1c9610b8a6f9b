// Shared helpers for Switchyard's tests: processes, ports, temp dirs, polling,
// a capturing logger and ONNX model builders. Test code: never a dependency of shipped code.
export {
  type CapturedLogger,
  capturingLogger,
} from './capturing-logger.js';
export {
  trackChild,
  trackedPids,
  killTracked,
  pidIsGone,
} from './child-processes.js';
export {
  type EtcdOptions,
  type EtcdStartOptions,
  etcdBinary,
  EtcdProcess,
  startEtcd,
  type EtcdCluster,
  type EtcdClusterOptions,
  startEtcdCluster,
} from './etcd-process.js';
export { allocationModel, loopCountModel, slowLoadModel } from './hostile-models.js';
export {
  freePort,
} from './free-port.js';
export { elemType, encodeModel, floatTensor, int64Tensor, node, onnx, valueInfo, type Dim, type GraphParts, type ModelDatatype } from './onnx-graph.js';
export {
  type Int64ModelOptions,
  int64Model,
  twoOutputModel,
  identityModel,
  type MlpModelOptions,
  type DenseLayer,
  mlpParameters,
  mlpModel,
  expectedMlp,
  SLOW_MODEL_WIDTH,
  type SlowModelOptions,
  slowModel,
  GATHER_TABLE,
  gatherModel,
  float16Model,
  STRING_LABELS,
  stringLabelModel,
  bfloat16Model,
  corruptModelBytes,
  expectedLinear,
  linearModel,
  type LinearModelOptions,
} from './onnx-models.js';
export {
  seededRandom,
} from './seeded-random.js';
export {
  type AnswerDelay,
  TcpProxy,
} from './tcp-proxy.js';
export {
  makeTempDir,
  removeDir,
} from './temp-dir.js';
export {
  type WaitForOptions,
  waitFor,
} from './wait-for.js';
export {
  type TestCertificates,
  generateTestCertificates,
} from './test-certificates.js';


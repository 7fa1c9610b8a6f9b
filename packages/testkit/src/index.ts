// Shared helpers for Switchyard's tests: processes, ports, temp dirs, polling
// and ONNX model builders.
export * from './capturing-logger.js';
export * from './child-processes.js';
export * from './etcd-process.js';
export * from './free-port.js';
export * from './onnx-graph.js';
export * from './onnx-models.js';
export * from './seeded-random.js';
export * from './tcp-proxy.js';
export * from './temp-dir.js';
export * from './wait-for.js';
export * from './test-certificates.js';

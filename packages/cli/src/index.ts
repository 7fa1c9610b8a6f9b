// The CLI as a library: the same clients and flows the commands use, for
// scripts and tests that would rather not spawn a process.
export * from './admin-client.js';
export * from './inference-client.js';
export * from './cluster-file.js';
export * from './control-plane-address.js';
export * from './deploy-model.js';
export * from './predict-model.js';
export * from './tensor-input.js';
export * from './tensor-output.js';
export * from './exit-codes.js';
export { buildProgram } from './program.js';
export { main } from './main.js';

// The CLI as a library: the same flows the commands use, for scripts and
// tests that would rather not spawn a process. The admin client itself lives
// in @switchyard/client.
export * from './cluster-file.js';
export * from './control-plane-address.js';
export * from './client-connection.js';
export * from './deploy-model.js';
export * from './predict-model.js';
export * from './route-splits.js';
export * from './local-token.js';
export * from './tensor-input.js';
export * from './tensor-output.js';
export * from './exit-codes.js';
export { buildProgram } from './program.js';
export { main } from './main.js';

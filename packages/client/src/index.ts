// Clients of Switchyard's gRPC APIs, for the CLI, tests and anyone's scripts:
// the control plane's admin API and the nodes' inference API.
export * from './admin-client.js';
export * from './admin-rpcs.js';
export * from './admin-errors.js';
export * from './artifact-upload.js';
export * from './grpc-reason.js';
export * from './inference-client.js';
export * from './inference-tensors.js';
export * from './node-discovery.js';
export * from './retry-policy.js';
export { INFERENCE_HEALTH_SERVICE } from './endpoint.js';

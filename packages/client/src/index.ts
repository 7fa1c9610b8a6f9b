// Clients of Switchyard's gRPC APIs, for the CLI, tests and anyone's scripts.
// Today: the control plane's admin API. (The inference client will join it.)
export * from './admin-client.js';
export * from './admin-rpcs.js';
export * from './admin-errors.js';
export * from './artifact-upload.js';
export * from './grpc-reason.js';

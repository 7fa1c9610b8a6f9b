// @switchyard/client: typed clients of Switchyard's gRPC APIs, for the CLI,
// tests and anyone's scripts: the control plane's admin API and the nodes'
// inference API. Everything else in src/ is how they work.
export {
  AdminClient,
  type AdminCallOptions,
  type AdminClientOptions,
  type UploadBytesOptions,
  type UploadFileOptions,
} from './admin-client.js';
export { ADMIN_UNARY_METHODS, type AdminRequest, type AdminResponse, type AdminUnaryMethod, type AdminUnaryRpcs } from './admin-rpcs.js';
export { UPLOAD_CHUNK_BYTES, type UploadProgress } from './artifact-upload.js';
export {
  InferenceClient,
  type CallOptions,
  type EndpointState,
  type InferenceClientOptions,
  type InferOptions,
  type InferResult,
} from './inference-client.js';
export type { InputTensor, OutputTensor } from './inference-tensors.js';
export type { DnsDiscoveryOptions, EtcdDiscoveryOptions } from './node-discovery.js';
export type { RetryOptions } from './retry-policy.js';
// The gRPC health service name nodes report inference readiness under.
export { INFERENCE_HEALTH_SERVICE } from './endpoint.js';

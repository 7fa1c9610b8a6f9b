// @switchyard/prediction-node: the node and what runs one. Everything else in
// src/ is the node's own; its tests import those files directly.
export { PredictionNode, type NodeState } from './prediction-node.js';
export {
  DEFAULT_NODE_MAX_MESSAGE_BYTES,
  PredictionNodeOptionError,
  resolvePredictionNodeOptions,
  type PredictionNodeOptions,
  type ResolvedPredictionNodeOptions,
  type ResolvedShadowOptions,
} from './prediction-node-options.js';
export { DEFAULT_INLINE_RUN_LIMIT_MS, type SessionHosting } from './model-loader.js';
export type { ShadowOptions } from './shadow-mirror.js';
// A /metrics endpoint for any prom-client registry (the control plane's CLI serves one with it).
export { startMetricsServer } from './metrics-server.js';
// The artifact cache and its source, for release validation (`switchyard validate`).
export { ArtifactCache, type ArtifactCacheOptions } from './artifact-cache.js';
export { ControlPlaneArtifactSource, type ArtifactSource, type ControlPlaneArtifactSourceOptions } from './artifact-fetcher.js';
// Worker-hosted sessions, for tests and benches that check thread hosting from outside.
export { WorkerSession } from './worker-session.js';
// Every session is guarded (run limits); its fast session is the inline or worker one.
export { GuardedSession } from './session-guarded.js';
export { liveSessionThreads } from './session-thread.js';
export type { QueueFiguresSource, StatisticDuration, VersionQueueFigures } from './triton-extensions.js';
export { heapTrims, trimHeap } from './heap-trim.js';

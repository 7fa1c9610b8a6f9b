/** Messages between the bench (parent) and a load-client child process. */

/** One kind of call a client makes: a gRPC method and its pre-encoded request. */
export interface CallSpec {
  /** Name used in the result, e.g. "infer" or "health". */
  label: string;
  /** Full method path, e.g. /inference.GRPCInferenceService/ModelInfer. */
  path: string;
  /** The serialised request message, base64. */
  requestBase64: string;
  /** Set for the REST API: POST `path` over HTTP/1.1 keep-alive with these headers and the request bytes as the body; 200 is success. @default gRPC */
  http?: { headers: Record<string, string> };
}

/** First message: whom to call and how. The child connects and answers `ready`. */
export interface LoadClientConfig {
  type: 'config';
  /** host:port of the server under test. */
  target: string;
  /**
   * closed-loop: `concurrency` loops each send calls[0] back to back.
   * probe: one loop per call, each pausing ~`intervalMs` (jittered ±50 %) between calls.
   * open-loop: calls start at `ratePerSecond` (Poisson arrivals, calls taken in
   * turn), whether or not earlier ones have answered, at most `concurrency`
   * outstanding; an arrival finding that many outstanding is counted as
   * `skipped`, not sent.
   */
  mode: 'closed-loop' | 'probe' | 'open-loop';
  calls: CallSpec[];
  concurrency: number;
  intervalMs: number;
  /** open-loop only: offered calls per second. */
  ratePerSecond?: number;
  /** Per-call deadline. */
  deadlineMs: number;
}

/** Runs one segment: `warmupMs` unrecorded, then `durationMs` measured. Answered by `result`. */
export interface GoMessage {
  type: 'go';
  warmupMs: number;
  durationMs: number;
  /** open-loop only: send only the calls with these labels in this segment (default: all). */
  labels?: string[];
}

/** Closes the connection and exits. */
export interface StopMessage {
  type: 'stop';
}

export interface ReadyMessage {
  type: 'ready';
}

export interface CallResult {
  /** Calls that completed OK inside the measured window. */
  completed: number;
  /** Calls that completed OK from "go" to the end, warm-up and tail included. */
  total: number;
  errors: number;
  firstError?: string;
  /** open-loop only: arrivals inside the measured window not sent because `concurrency` calls were outstanding. */
  skipped?: number;
  /** open-loop only: calls started inside the measured window. */
  started?: number;
  /** Latency in ms of every OK call started inside the measured window. */
  latenciesMs: number[];
  /** One response message (without gRPC framing), base64, for the parent to check. */
  sampleResponseBase64?: string;
}

export interface ResultMessage {
  type: 'result';
  /** Length of the measured window actually observed, in ms. */
  windowMs: number;
  /** Time from "go" until the last call ended, ms. */
  totalMs: number;
  /** CPU time this client process used over `totalMs` (a client near one core is a bottleneck). */
  cpuMs: number;
  /** This client's own GC pauses over `totalMs`: their sum and the longest, ms (they delay every call in flight). */
  gcMs: number;
  gcMaxMs: number;
  calls: Record<string, CallResult>;
}

export interface ErrorMessage {
  type: 'error';
  message: string;
}

export type ChildMessage = ReadyMessage | ResultMessage | ErrorMessage;
export type ParentMessage = LoadClientConfig | GoMessage | StopMessage;

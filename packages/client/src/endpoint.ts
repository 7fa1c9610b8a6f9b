import * as grpc from '@grpc/grpc-js';
import { service as healthServiceDefinition } from 'grpc-health-check';
import { inferenceService, type ClientCredentials } from '@switchyard/core/grpc';

/** The health service the inference service reports under. */
export const INFERENCE_HEALTH_SERVICE = 'inference.GRPCInferenceService';

const HealthClient = grpc.makeGenericClientConstructor(healthServiceDefinition as unknown as grpc.ServiceDefinition, 'Health');

/** Options for {@link Endpoint}. */
export interface EndpointOptions {
  address: string;
  access: ClientCredentials;
  /** Extra channel options (message sizes). */
  channelOptions?: grpc.ChannelOptions;
  /** Interval between health checks. */
  healthIntervalMs: number;
  /** Called when `serving` flips. */
  onChange: () => void;
}

/**
 * One node: a channel, its inference stub and a periodic grpc.health.v1
 * Check of the inference service. Picked only while its last check said
 * SERVING. Periodic unary checks rather than a Watch stream: an open stream
 * would hold a draining node's server open until its shutdown deadline.
 */
export class Endpoint {
  readonly client: grpc.Client;
  private readonly health: grpc.Client;
  private servingNow = false;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Calls started on this endpoint and not finished (least-loaded tie-breaks, diagnostics). */
  inFlight = 0;

  constructor(private readonly options: EndpointOptions) {
    const Inference = inferenceService();
    this.client = new Inference(options.address, options.access.credentials, { ...options.channelOptions, ...options.access.options });
    this.health = new HealthClient(options.address, options.access.credentials, {
      ...options.access.options,
      channelOverride: this.client.getChannel(),
    });
    this.check();
  }

  get address(): string {
    return this.options.address;
  }

  /** True while the last health check said SERVING and no call since failed with UNAVAILABLE. */
  get serving(): boolean {
    return this.servingNow;
  }

  /** A call failed as if the node were gone: stop using it until a check says SERVING again. */
  markUnavailable(): void {
    this.set(false);
    // Check again soon rather than after a full interval.
    clearTimeout(this.timer);
    if (!this.closed) this.timer = setTimeout(() => this.check(), Math.min(100, this.options.healthIntervalMs)).unref();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.set(false);
    this.health.close();
    this.client.close();
  }

  private check(): void {
    if (this.closed) return;
    const deadline = Date.now() + Math.max(this.options.healthIntervalMs, 1000);
    (this.health as unknown as HealthStub).Check({ service: INFERENCE_HEALTH_SERVICE }, { deadline }, (err, res) => {
      if (this.closed) return;
      this.set(!err && res?.status === 'SERVING');
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.check(), this.options.healthIntervalMs).unref();
    });
  }

  private set(serving: boolean): void {
    if (serving === this.servingNow) return;
    this.servingNow = serving;
    this.options.onChange();
  }
}

interface HealthStub {
  Check(
    request: { service: string },
    options: grpc.CallOptions,
    callback: (err: grpc.ServiceError | null, res?: { status: string }) => void,
  ): grpc.ClientUnaryCall;
}

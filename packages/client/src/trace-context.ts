import * as grpc from '@grpc/grpc-js';
import { context, propagation, trace, TraceFlags } from '@opentelemetry/api';

/**
 * The caller's trace context as gRPC metadata, so a node's span is a child
 * of the span active where `infer` was called. The application's propagator
 * writes it when one is registered (its OpenTelemetry SDK); otherwise the
 * W3C `traceparent` of the active span is written directly. Without
 * OpenTelemetry in the application, no span is active and nothing is sent.
 */
export function traceMetadata(): grpc.Metadata {
  const metadata = new grpc.Metadata();
  const active = context.active();
  const carrier: Record<string, string> = {};
  propagation.inject(active, carrier);
  if (carrier.traceparent === undefined) {
    const span = trace.getSpanContext(active);
    if (span && trace.isSpanContextValid(span)) {
      carrier.traceparent = `00-${span.traceId}-${span.spanId}-${(span.traceFlags & TraceFlags.SAMPLED ? 1 : 0).toString(16).padStart(2, '0')}`;
      if (span.traceState) carrier.tracestate = span.traceState.serialize();
    }
  }
  for (const [key, value] of Object.entries(carrier)) metadata.set(key, value);
  return metadata;
}

import test from 'ava';
import { GrpcStatus } from '@switchyard/core';
import { backoffMs, isRetryable, resolveRetryPolicy } from '../src/retry-policy.js';

test('only UNAVAILABLE, and CANCELLED from a draining node, are retryable', (t) => {
  t.true(isRetryable(GrpcStatus.UNAVAILABLE, false));
  t.true(isRetryable(GrpcStatus.CANCELLED, true));
  t.false(isRetryable(GrpcStatus.CANCELLED, false));
  for (const code of [GrpcStatus.INVALID_ARGUMENT, GrpcStatus.NOT_FOUND, GrpcStatus.DEADLINE_EXCEEDED, GrpcStatus.INTERNAL, GrpcStatus.RESOURCE_EXHAUSTED]) {
    t.false(isRetryable(code, true), GrpcStatus[code]);
  }
});

test('defaults, validation naming the field, and jittered exponential backoff under the cap', (t) => {
  t.deepEqual(resolveRetryPolicy(), { maxAttempts: 3, initialBackoffMs: 25, maxBackoffMs: 500 });
  t.throws(() => resolveRetryPolicy({ maxAttempts: 0 }), { instanceOf: TypeError, message: /maxAttempts/ });
  t.throws(() => resolveRetryPolicy({ initialBackoffMs: 100, maxBackoffMs: 50 }), { message: /maxBackoffMs/ });
  const policy = resolveRetryPolicy();
  for (let retry = 1; retry <= 10; retry++) {
    const cap = Math.min(500, 25 * 2 ** (retry - 1));
    for (let i = 0; i < 50; i++) {
      const wait = backoffMs(policy, retry);
      t.true(wait >= 0 && wait <= cap);
    }
  }
});

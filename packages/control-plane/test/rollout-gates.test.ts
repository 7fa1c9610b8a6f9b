import test from 'ava';
import { RolloutGatesSchema, type RolloutGates } from '@switchyard/core';
import { evaluateGates, type StepFigures, type VersionFigures } from '../src/index.js';
import { checkGates, checkProgressDeadline, DEFAULT_PROGRESS_DEADLINE_SECONDS } from '../src/rollout-request.js';

const gates = (overrides: Partial<RolloutGates> = {}): RolloutGates => ({ ...RolloutGatesSchema.parse({}), ...overrides });

function figures(version: string, requests: number, errors: number, p99Ms: number | null): VersionFigures {
  return { version, requests, errors, errorRate: requests > 0 ? errors / requests : 0, p99Ms };
}

function step(from: VersionFigures, to: VersionFigures, shadow: StepFigures['shadow'] = null): StepFigures {
  return { from, to, shadow };
}

test('a clean new version as fast as the old passes every gate', (t) => {
  const verdict = evaluateGates(gates(), step(figures('v1', 1000, 0, 2), figures('v2', 100, 0, 2.2)));
  t.deepEqual(verdict, { pass: true, failures: [] });
});

test('an error rate above the absolute limit fails with the figures in the message', (t) => {
  const verdict = evaluateGates(gates({ maxErrorRateRatio: null }), step(figures('v1', 1000, 0, 2), figures('v2', 200, 25, 2)));
  t.false(verdict.pass);
  t.is(verdict.failures.length, 1);
  t.regex(verdict.failures[0]!, /error rate of v2 12\.5% \(25 of 200\) is above the limit 1%/);
});

test('the error-rate ratio compares with the old version and ignores noise below a tenth of the absolute limit', (t) => {
  // 0.5% vs 0.1%: below the absolute limit of 1%, but 5× the old.
  const worse = evaluateGates(gates(), step(figures('v1', 1000, 1, 2), figures('v2', 1000, 5, 2)));
  t.false(worse.pass);
  t.regex(worse.failures[0]!, /5× that of v1/);
  // 0.05% on a new version against a clean old one: under maxErrorRate/10, not judged.
  t.true(evaluateGates(gates(), step(figures('v1', 1000, 0, 2), figures('v2', 2000, 1, 2))).pass);
  // 0.5% against a clean old one: infinitely worse.
  const fromClean = evaluateGates(gates(), step(figures('v1', 1000, 0, 2), figures('v2', 1000, 5, 2)));
  t.regex(fromClean.failures[0]!, /infinitely many times/);
  t.true(evaluateGates(gates({ maxErrorRateRatio: null }), step(figures('v1', 1000, 0, 2), figures('v2', 1000, 5, 2))).pass);
});

test('the p99 gate fails a slower version but forgives differences within the tolerance', (t) => {
  const slow = evaluateGates(gates(), step(figures('v1', 500, 0, 1), figures('v2', 500, 0, 300)));
  t.false(slow.pass);
  t.regex(slow.failures[0]!, /p99 latency of v2 300 ms is 300× that of v1 1 ms, above the limit 1\.5×/);
  // 4× slower but only 3 ms apart: within the 5 ms default tolerance.
  t.true(evaluateGates(gates(), step(figures('v1', 500, 0, 1), figures('v2', 500, 0, 4))).pass);
  t.false(evaluateGates(gates({ p99ToleranceMs: 0 }), step(figures('v1', 500, 0, 1), figures('v2', 500, 0, 4))).pass);
  // Nothing to compare with: the gate is not checked.
  t.true(evaluateGates(gates(), step(figures('v1', 0, 0, null), figures('v2', 500, 0, 300))).pass);
  t.true(evaluateGates(gates({ maxP99Ratio: null }), step(figures('v1', 500, 0, 1), figures('v2', 500, 0, 300))).pass);
});

test('shadow agreement is judged only when a limit is set and results exist', (t) => {
  const base = step(figures('v1', 100, 0, 1), figures('v2', 100, 0, 1), { compared: 100, agreed: 90 });
  t.true(evaluateGates(gates(), base).pass);
  const failed = evaluateGates(gates({ minShadowAgreement: 0.95 }), base);
  t.false(failed.pass);
  t.regex(failed.failures[0]!, /shadow agreement 90% \(90 of 100\) is below the limit 95%/);
  t.true(evaluateGates(gates({ minShadowAgreement: 0.95 }), { ...base, shadow: null }).pass);
});

test('several failing gates are all reported', (t) => {
  const verdict = evaluateGates(gates(), step(figures('v1', 1000, 0, 1), figures('v2', 100, 50, 100)));
  t.is(verdict.failures.length, 3);
});

test('request gates: absent takes the default, negative turns a gate off, nonsense is refused with the field named', (t) => {
  t.deepEqual(checkGates(null), gates({ p99ToleranceMs: 5 }));
  const custom = checkGates({ max_error_rate: 0.05, max_p99_ratio: -1, min_shadow_agreement: 0.99, min_shadow_requests: 50 });
  t.is(custom.maxErrorRate, 0.05);
  t.is(custom.maxP99Ratio, null);
  t.is(custom.minShadowAgreement, 0.99);
  t.is(custom.minShadowRequests, 50);
  t.is(custom.maxErrorRateRatio, 2);
  t.throws(() => checkGates({ max_error_rate: 2 }), { message: /max_error_rate is 2; give a share from 0 to 1/ });
  t.throws(() => checkGates({ max_p99_ratio: 0 }), { message: /max_p99_ratio is 0/ });
  t.throws(() => checkGates({ min_shadow_requests: 1.5 }), { message: /min_shadow_requests/ });
});

test('progress deadline: absent takes 30 min, 0 turns it off, negative or beyond a week is refused', (t) => {
  t.is(checkProgressDeadline(undefined), DEFAULT_PROGRESS_DEADLINE_SECONDS);
  t.is(DEFAULT_PROGRESS_DEADLINE_SECONDS, 1800);
  t.is(checkProgressDeadline(0), 0);
  t.is(checkProgressDeadline(600), 600);
  t.throws(() => checkProgressDeadline(-1), { message: /progress_deadline_seconds is -1; give seconds from 0 \(never\)/ });
  t.throws(() => checkProgressDeadline(8 * 86_400), { message: /a week/ });
  t.throws(() => checkProgressDeadline(Number.NaN), { message: /progress_deadline_seconds is NaN/ });
});

import type { RolloutFiguresMessage, RolloutMessage } from '@switchyard/core';
import { formatFields } from './output-format.js';

const ENDED = new Set(['SUCCEEDED', 'ROLLED_BACK', 'ABORTED']);

/** Whether the rollout has ended (its route no longer changes). */
export function rolloutEnded(rollout: RolloutMessage): boolean {
  return ENDED.has(rollout.state);
}

/** `[x] 1%  [x] 5%  [>] 25%  [ ] 50%  [ ] 100%`: steps done, current, to come. */
export function formatSteps(rollout: RolloutMessage): string {
  return rollout.steps
    .map((step, i) => {
      const done = i < rollout.step_index || (i === rollout.step_index && rollout.state === 'SUCCEEDED');
      const mark = done ? 'x' : i === rollout.step_index ? (rolloutEnded(rollout) ? '!' : '>') : ' ';
      return `[${mark}] ${step}%`;
    })
    .join('  ');
}

/** `v2: 120 requests, 3 errors (2.5%), p99 4.1 ms` */
export function formatFigures(f: RolloutFiguresMessage | null): string {
  if (!f) return '';
  const p99 = f.p99_ms === undefined ? 'no p99 yet' : `p99 ${round(f.p99_ms)} ms`;
  return `${f.version}: ${f.requests} requests, ${f.errors} errors (${round(f.error_rate * 100)}%), ${p99}`;
}

function formatGates(rollout: RolloutMessage): string {
  const g = rollout.gates ?? {};
  const parts: string[] = [];
  if (g.max_error_rate !== undefined) parts.push(`error rate <= ${round(g.max_error_rate * 100)}%`);
  if (g.max_error_rate_ratio !== undefined) parts.push(`error ratio <= ${g.max_error_rate_ratio}x`);
  if (g.max_p99_ratio !== undefined) parts.push(`p99 ratio <= ${g.max_p99_ratio}x (differences under ${g.p99_tolerance_ms ?? 0} ms forgiven)`);
  if (g.min_shadow_agreement !== undefined) parts.push(`shadow agreement >= ${round(g.min_shadow_agreement * 100)}%`);
  if (g.min_shadow_requests) parts.push(`${g.min_shadow_requests} shadowed requests before the first step`);
  return parts.length > 0 ? parts.join(', ') : 'none';
}

/** The status of a rollout for people: steps with the current one marked, figures, gates, reason. */
export function formatRollout(rollout: RolloutMessage): string {
  const step = rollout.step_index < 0 ? 'not started' : `${rollout.step_index + 1} of ${rollout.steps.length} (${rollout.steps[rollout.step_index]}% to ${rollout.to_version}) since ${rollout.step_started_at}`;
  const fields: [string, string][] = [
    ['rollout', `${rollout.model}: ${rollout.from_version} -> ${rollout.to_version} (id ${rollout.id})`],
    ['state', rollout.state],
    ['steps', formatSteps(rollout)],
    ['step', step],
    ['waiting for', rolloutEnded(rollout) ? '' : rollout.waiting_for],
    ['this step', [formatFigures(rollout.current_from), formatFigures(rollout.current_to)].filter(Boolean).join('; ')],
    ['last step', [formatFigures(rollout.last_from), formatFigures(rollout.last_to)].filter(Boolean).join('; ')],
    ['shadow', Number(rollout.shadow_compared) > 0 ? `${rollout.shadow_agreed} of ${rollout.shadow_compared} agreed` : ''],
    ['per step', `at least ${rollout.min_step_seconds} s and ${rollout.min_step_requests} requests to ${rollout.to_version}`],
    ['gates', formatGates(rollout)],
    ['deadline', rollout.progress_deadline_seconds > 0 ? `rolls back after ${rollout.progress_deadline_seconds} s without progress` : 'none'],
    ['reason', rollout.reason],
    ['started', `${rollout.started_at} by ${rollout.started_by || 'anonymous'}`],
    ['updated', rollout.updated_at],
  ];
  return formatFields(fields);
}

/** One line for a log: `12:00:01 lin v1 -> v2 PROGRESSING step 2/5 (5%) waiting for ...`. */
export function rolloutLine(rollout: RolloutMessage, at = new Date()): string {
  const step = rollout.step_index < 0 ? 'step -' : `step ${rollout.step_index + 1}/${rollout.steps.length} (${rollout.steps[rollout.step_index]}%)`;
  const tail = rolloutEnded(rollout) ? rollout.reason : rollout.waiting_for ? `waiting for ${rollout.waiting_for}` : '';
  return `${at.toISOString()} ${rollout.model} ${rollout.from_version} -> ${rollout.to_version} ${rollout.state} ${step}${tail ? ` ${tail}` : ''}`;
}

/**
 * How far the current step is, 0–1: the lesser of its time and its
 * requests against their minimums (both are needed to advance).
 */
export function stepProgress(rollout: RolloutMessage, nowMs = Date.now()): number {
  if (rollout.step_index < 0 || rolloutEnded(rollout)) return rolloutEnded(rollout) ? 1 : 0;
  const started = Date.parse(rollout.step_started_at);
  const time = rollout.min_step_seconds > 0 ? (nowMs - started) / (rollout.min_step_seconds * 1000) : 1;
  const requests = rollout.min_step_requests > 0 ? Number(rollout.current_to?.requests ?? 0) / rollout.min_step_requests : 1;
  return Math.max(0, Math.min(1, time, requests));
}

function round(n: number): number {
  return Number(n.toPrecision(3));
}

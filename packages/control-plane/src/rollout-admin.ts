import { randomBytes } from 'node:crypto';
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import {
  ANONYMOUS,
  aborted,
  type SwitchyardError,
  failedPrecondition,
  getCaller,
  notFound,
  type CallerIdentity,
  type Clock,
  type Logger,
  type ModelRef,
  type RolloutActionRequest,
  type RolloutMessage,
  type RolloutRecord,
  type RouteRecord,
  type StartRolloutRequest,
} from '@switchyard/core';
import { unaryHandler } from './grpc-handlers.js';
import { decide, isActive } from './rollout-decision.js';
import type { RolloutFiguresReader } from './rollout-figures.js';
import { RolloutMetrics } from './rollout-metrics.js';
import { rolloutToMessage } from './rollout-messages.js';
import { checkSteps, stepSplits } from './rollout-plan.js';
import { checkGates, checkMinStepRequests, checkMinStepSeconds, checkProgressDeadline } from './rollout-request.js';
import { writeRouteChange } from './rollout-route-writer.js';
import { abort, pause, promote, resume, storedFigures, type ChangeContext, type RouteChange } from './rollout-transitions.js';
import type { TargetStateStore } from './target-state-store.js';
import { checkName } from './version-names.js';

/** Options for {@link RolloutAdmin}. */
export interface RolloutAdminOptions {
  state: TargetStateStore;
  figures: RolloutFiguresReader;
  clock: Clock;
  logger: Logger;
  /** Where committed transitions are counted. @default its own, unserved */
  metrics?: RolloutMetrics;
}

type Action = 'pause' | 'resume' | 'abort' | 'promote';

/**
 * The rollout RPCs of the admin API. Any replica serves them; each change
 * is a compare-and-swap on the route's revision, like the controller's, so
 * an admin and the controller never both apply a change to the same state.
 */
export class RolloutAdmin {
  readonly #state: TargetStateStore;
  readonly #figures: RolloutFiguresReader;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #metrics: RolloutMetrics;

  constructor(options: RolloutAdminOptions) {
    this.#metrics = options.metrics ?? new RolloutMetrics();
    this.#state = options.state;
    this.#figures = options.figures;
    this.#clock = options.clock;
    this.#logger = options.logger;
  }

  /** grpc-js handlers, merged into the ModelAdmin service's. */
  handlers(): UntypedServiceImplementation {
    const log = this.#logger;
    return {
      StartRollout: unaryHandler(log, 'StartRollout', (r: StartRolloutRequest, call) => this.startRollout(r, getCaller(call))),
      GetRollout: unaryHandler(log, 'GetRollout', (r: ModelRef) => this.getRollout(r)),
      PauseRollout: unaryHandler(log, 'PauseRollout', (r: RolloutActionRequest, call) => this.act('pause', r, getCaller(call))),
      ResumeRollout: unaryHandler(log, 'ResumeRollout', (r: RolloutActionRequest, call) => this.act('resume', r, getCaller(call))),
      AbortRollout: unaryHandler(log, 'AbortRollout', (r: RolloutActionRequest, call) => this.act('abort', r, getCaller(call))),
      PromoteRollout: unaryHandler(log, 'PromoteRollout', (r: RolloutActionRequest, call) => this.act('promote', r, getCaller(call))),
    };
  }

  /**
   * Stores a PENDING rollout on the route, with the new version at weight 0
   * so nodes load it before its first step; the leading control plane's
   * controller applies the steps.
   */
  async startRollout(request: StartRolloutRequest, caller: CallerIdentity = ANONYMOUS): Promise<RolloutMessage> {
    const model = checkName('model', request.model ?? '');
    const to = checkName('version', request.to_version ?? '');
    const steps = checkSteps(request.steps ?? []);
    const minStepSeconds = checkMinStepSeconds(request.min_step_seconds);
    const minStepRequests = checkMinStepRequests(request.min_step_requests);
    const progressDeadlineSeconds = checkProgressDeadline(request.progress_deadline_seconds);
    const gates = checkGates(request.gates);

    const read = await this.#state.readRoute(model);
    if (read.invalid !== undefined) throw failedPrecondition(`the route of model ${model} stored in etcd is invalid (${read.invalid}); replace it with SetRoute first`);
    const route = read.current;
    if (!route || route.splits.length === 0) throw failedPrecondition(`model ${model} serves no traffic yet; route it to a version with SetRoute (or deploy) first`);
    if (isActive(route.rollout)) {
      const r = route.rollout!;
      throw failedPrecondition(`model ${model} already has a ${r.state} rollout ${r.from} → ${r.to}; wait for it to end, or abort or promote it first`);
    }
    const from = request.from_version ? checkName('version', request.from_version) : heaviest(route);
    if (from === to) throw failedPrecondition(`version ${to} already serves model ${model}'s traffic; a rollout needs two different versions (--from)`);
    const fromSplit = route.splits.find((s) => s.version === from);
    if (!fromSplit || fromSplit.weight === 0) {
      throw failedPrecondition(`version ${from} gets no traffic of model ${model}, so there is nothing to move from; name the serving version with from_version`);
    }
    const toWeight = route.splits.find((s) => s.version === to)?.weight ?? 0;
    if (toWeight > 0) {
      throw failedPrecondition(`version ${to} already gets ${toWeight / 100}% of model ${model}'s traffic; set its weight to 0 with SetRoute, then start the rollout`);
    }
    const version = await this.#state.getVersion(model, to);
    if (!version) throw notFound(`model ${model} has no version ${to}; create it first (switchyard deploy, or CreateVersion)`);
    const validation = version.value.validation;
    if (validation && validation.state !== 'PASSED') {
      throw failedPrecondition(`version ${to} of model ${model} failed deploy-time validation (${validation.reason}) and cannot get traffic; fix the model and create a new version`);
    }

    const ctx = this.#ctx(caller);
    const rollout: RolloutRecord = {
      id: rolloutId(this.#clock.now()),
      from,
      to,
      steps,
      stepIndex: -1,
      stepStartedAt: null,
      minStepSeconds,
      minStepRequests,
      progressDeadlineSeconds,
      gates,
      state: 'PENDING',
      reason: `started by ${caller.name}`,
      lastFigures: null,
      startedAt: ctx.at,
      startedBy: caller.name,
      updatedAt: ctx.at,
    };
    const splits = stepSplits(route.splits, from, to, 0);
    const change: RouteChange = { route: { ...route, splits, rollout, updatedAt: ctx.at, updatedBy: caller.name }, action: 'RolloutStart' };
    // StartRollout is not retried: the admin chose its versions from what they read.
    const revision = await this.#write(route, read.revision, change).catch((err: unknown) => {
      throw err instanceof RouteChangedError ? err.error : err;
    });
    this.#logger.info('rollout started', { model, rollout: rollout.id, from, to, steps: steps.join(','), actor: caller.name });
    return rolloutToMessage(model, rollout, revision);
  }

  /** The model's active or last rollout, with the live figures of its current step. */
  async getRollout(request: ModelRef): Promise<RolloutMessage> {
    const model = checkName('model', request.model ?? '');
    const stored = await this.#state.getRoute(model);
    const rollout = stored?.value.rollout;
    if (!stored || !rollout) throw notFound(`model ${model} has no rollout; start one with StartRollout (switchyard rollout start)`);
    if (!isActive(rollout)) return rolloutToMessage(model, rollout, stored.modRevision);
    const figures = await this.#figures.current(model, rollout);
    const shadow = figures ? figures.shadow : await this.#figures.shadow(model, rollout.from, rollout.to);
    const decision = decide(rollout, figures, shadow, this.#clock.now());
    const waitingFor =
      rollout.state === 'PAUSED' ? 'resume (the rollout is paused)' : decision.kind === 'wait' ? decision.waitingFor : decision.kind === 'idle' ? '' : 'the controller to act';
    return rolloutToMessage(model, rollout, stored.modRevision, { figures, shadow, waitingFor });
  }

  /**
   * Pause, resume, abort or promote the model's active rollout. The rollout
   * controller may apply a step between this read and this write; the write
   * then loses its compare-and-swap, and the action is decided again on what
   * is stored now (its preconditions checked again), up to ACT_ATTEMPTS times.
   */
  async act(action: Action, request: RolloutActionRequest, caller: CallerIdentity = ANONYMOUS): Promise<RolloutMessage> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#actOnce(action, request, caller);
      } catch (err) {
        if (!(err instanceof RouteChangedError) || attempt >= ACT_ATTEMPTS) throw err instanceof RouteChangedError ? err.error : err;
      }
    }
  }

  async #actOnce(action: Action, request: RolloutActionRequest, caller: CallerIdentity): Promise<RolloutMessage> {
    const model = checkName('model', request.model ?? '');
    const reason = (request.reason ?? '').slice(0, 500);
    const read = await this.#state.readRoute(model);
    const route = read.current;
    const rollout = route?.rollout;
    if (!route || !rollout) throw notFound(`model ${model} has no rollout to ${action}; start one with StartRollout`);
    if (!isActive(rollout)) throw failedPrecondition(`the rollout ${rollout.from} → ${rollout.to} of model ${model} already ended ${rollout.state}; start a new one`);
    if (action === 'pause' && rollout.state === 'PAUSED') throw failedPrecondition(`the rollout of model ${model} is already paused; resume, abort or promote it`);
    if (action === 'resume' && rollout.state !== 'PAUSED') throw failedPrecondition(`the rollout of model ${model} is ${rollout.state}, not paused; nothing to resume`);

    const ctx = this.#ctx(caller);
    let change: RouteChange;
    if (action === 'pause') change = pause(route, rollout, reason, ctx);
    else if (action === 'resume') change = resume(route, rollout, reason, ctx);
    else {
      // Keep the figures the admin decided on, as a rollback does.
      const figures = await this.#figures.current(model, rollout).catch(() => null);
      const withFigures = figures ? { ...rollout, lastFigures: storedFigures(figures) } : rollout;
      change = action === 'abort' ? abort(route, withFigures, reason, ctx) : promote(route, withFigures, reason, ctx);
    }
    const revision = await this.#write(route, read.revision, change);
    const after = change.route.rollout!;
    this.#logger.info(`rollout ${after.state.toLowerCase()}`, { model, rollout: rollout.id, action, actor: caller.name, reason: after.reason });
    if (!isActive(after)) {
      await this.#figures.deleteStats(model, rollout.id).catch((err: unknown) =>
        this.#logger.warn("could not delete an ended rollout's figures; the controller will", { model, error: (err as Error).message }),
      );
    }
    return rolloutToMessage(model, after, revision);
  }

  async #write(before: RouteRecord, revision: string, change: RouteChange): Promise<string> {
    const outcome = await writeRouteChange(this.#state, before, revision, change, this.#metrics);
    if (outcome.status === 'written') return outcome.revision;
    if (outcome.status === 'version-gone') {
      throw notFound(`version ${outcome.version} of model ${before.model} was deleted meanwhile; check the versions and retry`);
    }
    if (outcome.status === 'version-retired') {
      const v = outcome.version;
      throw failedPrecondition(`version ${v} of model ${before.model} is retired; unretire it with 'switchyard unretire ${before.model}:${v}' first`);
    }
    if (outcome.status === 'version-changed') {
      throw aborted(`version ${outcome.version} of model ${before.model} kept changing while the rollout was being written (e.g. the retirement sweeper); retry`);
    }
    throw new RouteChangedError(
      aborted(`the route of model ${before.model} kept changing (the rollout controller applying steps); check it with GetRollout and retry`),
    );
  }

  #ctx(caller: CallerIdentity): ChangeContext {
    return { at: new Date(this.#clock.now()).toISOString(), actor: caller.name };
  }
}

/** The version with the most weight (the first of equals). */
function heaviest(route: RouteRecord): string {
  let best = route.splits[0]!;
  for (const s of route.splits) if (s.weight > best.weight) best = s;
  return best.version;
}

/** Sortable and unique: the start time in base 36 and random hex, safe in a key. */
function rolloutId(nowMs: number): string {
  return `${nowMs.toString(36)}-${randomBytes(4).toString('hex')}`;
}

/** Attempts of an admin action on a rollout that keeps losing its compare-and-swap to the controller. */
const ACT_ATTEMPTS = 5;

/** The route moved between an action's read and its write: the action may be decided again. */
class RouteChangedError extends Error {
  constructor(readonly error: SwitchyardError) {
    super(error.message);
  }
}

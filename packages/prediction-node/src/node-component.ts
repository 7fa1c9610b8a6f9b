import { SwitchyardError, internal, type Logger } from '@switchyard/core';

/**
 * One part of a prediction node with a lifetime: a server, a timer, a watch,
 * a lease. Started in list order; stopped in the reverse order, so each part
 * stops while everything it relies on is still running.
 */
export interface NodeComponent {
  /** Named in logs and in the error of a failed start. */
  readonly name: string;
  /** May throw; a failure stops everything started before it. */
  start(): Promise<void> | void;
  /** Must not throw to signal anything but a bug: a failure is logged and the others still stop. */
  stop(): Promise<void> | void;
}

/**
 * Starts and stops a list of {@link NodeComponent}s as one. A failed start
 * stops what had started, in reverse, and leaves one SwitchyardError: the
 * component's own (a component that knows what went wrong, like a bind,
 * converts its error itself) or an INTERNAL one naming the component.
 */
export class NodeComponents {
  private readonly started: NodeComponent[] = [];
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly components: readonly NodeComponent[],
    private readonly logger: Logger,
  ) {}

  /** Names of the components started and not stopped, in start order (tests and diagnostics). */
  get running(): string[] {
    return this.started.map((c) => c.name);
  }

  /**
   * Starts every component in order.
   * @throws SwitchyardError of the first component that failed, once everything before it has stopped.
   */
  async start(): Promise<void> {
    if (this.started.length > 0 || this.stopping) throw new TypeError('NodeComponents.start may be called once');
    for (const component of this.components) {
      try {
        await component.start();
      } catch (err) {
        const error = err instanceof SwitchyardError ? err : internal(`${component.name} did not start: ${errorMessage(err)}`, err);
        this.logger.error('prediction node could not start; stopping what had started', { component: component.name, error: error.message });
        await this.stop();
        throw error;
      }
      this.started.push(component);
      this.logger.debug('node component started', { component: component.name });
    }
  }

  /** Stops the started components in reverse start order; a second call waits for the first. */
  stop(): Promise<void> {
    this.stopping ??= this.stopAll();
    return this.stopping;
  }

  private async stopAll(): Promise<void> {
    while (this.started.length > 0) {
      const component = this.started.pop()!;
      try {
        await component.stop();
        this.logger.debug('node component stopped', { component: component.name });
      } catch (err) {
        this.logger.warn('a node component failed to stop; stopping the others', { component: component.name, error: errorMessage(err) });
      }
    }
  }
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

import type { LambdaInvoker } from '../lambda/server.js';
import {
  type ActionInvocationRecord,
  type ActionPoint,
  actionsFor,
  invokeAction,
  isRecord,
  PAYLOAD_TYPES,
} from './invoke-actions.js';
import type { DeploymentStrategy, Environment, Store } from './store.js';

export type DeploymentState =
  | 'DEPLOYING'
  | 'BAKING'
  | 'VALIDATING'
  | 'COMPLETE'
  | 'ROLLING_BACK'
  | 'ROLLED_BACK'
  | 'REVERTED';
type TriggeredBy = 'USER' | 'APPCONFIG' | 'CLOUDWATCH_ALARM' | 'INTERNAL_ERROR';

export interface DeploymentEvent {
  EventType: string;
  TriggeredBy: TriggeredBy;
  Description: string;
  ActionInvocations: ActionInvocationRecord[];
  OccurredAt: Date;
}

export interface AppliedExtension {
  ExtensionId: string;
  ExtensionAssociationId: string;
  VersionNumber: number;
  Parameters: Record<string, string>;
}

/** What the payloads need to know about a deployment, beyond its own fields. */
export interface DeploymentContext {
  application: { Id: string; Name: string };
  environment: Environment;
  profile: { Id: string; Name: string; arn: string };
  resourceArns: string[];
  dynamic: Map<string, Record<string, string>>;
  content: Buffer;
  contentType: string;
}

export interface Deployment {
  ApplicationId: string;
  EnvironmentId: string;
  DeploymentStrategyId: string;
  ConfigurationProfileId: string;
  DeploymentNumber: number;
  ConfigurationName: string;
  ConfigurationLocationUri: string;
  ConfigurationVersion: string;
  Description?: string;
  DeploymentDurationInMinutes: number;
  GrowthType: string;
  GrowthFactor: number;
  FinalBakeTimeInMinutes: number;
  State: DeploymentState;
  EventLog: DeploymentEvent[];
  PercentageComplete: number;
  StartedAt: Date;
  CompletedAt?: Date;
  AppliedExtensions: AppliedExtension[];
  VersionLabel?: string;
  KmsKeyIdentifier?: string;
  ctx: DeploymentContext;
  abort: AbortController;
  /** ON_* invocations still running; `settled()` waits for them. */
  pending: Set<Promise<void>>;
  finished: Promise<void>;
  currentTick?: Promise<void>;
  finishing: boolean;
}

export interface PayloadQuirks {
  /** `Type` of AT_DEPLOYMENT_TICK payloads. Default `AtDeploymentTick`; AWS's doc shows `OnDeploymentStart`. */
  tickType?: string;
  /** Send `DeploymentNumber` as a string, as AWS's SNS/SQS samples do. Default false (a number). */
  deploymentNumberAsString?: boolean;
}

export interface DeploymentEngineOptions {
  /** Real milliseconds per strategy minute. */
  timeScale: number;
  /** Real milliseconds between AT_DEPLOYMENT_TICK invocations. */
  tickIntervalMs: number;
  quirks: PayloadQuirks;
  newInvocationId: () => string;
}

/**
 * Runs deployments through a strategy's steps and bake time, invoking AT_DEPLOYMENT_TICK in a loop and the
 * ON_* action points without waiting for them.
 */
export class DeploymentEngine {
  /** Keyed by environment id, in deployment-number order. */
  readonly byEnvironment = new Map<string, Deployment[]>();
  #closed = false;

  constructor(
    private readonly store: Store,
    private readonly lambda: () => LambdaInvoker | undefined,
    private readonly options: DeploymentEngineOptions,
  ) {}

  list(envId: string): Deployment[] {
    return this.byEnvironment.get(envId) ?? [];
  }

  nextNumber(envId: string): number {
    return this.list(envId).length + 1;
  }

  active(envId: string): Deployment | undefined {
    return this.list(envId).find((d) => isActive(d));
  }

  start(
    fields: Omit<
      Deployment,
      | 'State'
      | 'EventLog'
      | 'PercentageComplete'
      | 'StartedAt'
      | 'abort'
      | 'pending'
      | 'finished'
      | 'finishing'
    >,
    strategy: DeploymentStrategy,
    preStartInvocations: ActionInvocationRecord[],
  ): Deployment {
    const d: Deployment = {
      ...fields,
      State: 'DEPLOYING',
      EventLog: [],
      PercentageComplete: 0,
      StartedAt: new Date(),
      abort: new AbortController(),
      pending: new Set(),
      finished: Promise.resolve(),
      finishing: false,
    };
    const list = this.byEnvironment.get(d.EnvironmentId) ?? [];
    list.push(d);
    this.byEnvironment.set(d.EnvironmentId, list);
    d.ctx.environment.State = 'DEPLOYING';
    const started = this.#log(d, 'DEPLOYMENT_STARTED', 'USER', 'Deployment started');
    started.ActionInvocations.push(...preStartInvocations);
    this.#fireOn(d, 'ON_DEPLOYMENT_START', started);
    d.finished = this.#run(d, strategy);
    return d;
  }

  /** StopDeployment: rolls back an active deployment, or reverts a complete one when `allowRevert`. */
  stop(d: Deployment, allowRevert: boolean): boolean {
    if (isActive(d)) {
      this.#rollBack(d, 'USER', 'Deployment stopped by the user', []);
      return true;
    }
    if (d.State === 'COMPLETE' && allowRevert) {
      d.State = 'REVERTED';
      d.ctx.environment.State = 'REVERTED';
      this.#log(d, 'REVERT_COMPLETED', 'USER', 'Deployment reverted by the user');
      return true;
    }
    return false;
  }

  /** Resolves once the deployment reached a final state and its ON_* invocations returned. */
  async settled(d: Deployment): Promise<void> {
    await d.finished;
    while (d.pending.size) await Promise.allSettled([...d.pending]);
  }

  /** Stops every running deployment where it is (no roll back, no further invocations). */
  async close(): Promise<void> {
    this.#closed = true;
    const all = [...this.byEnvironment.values()].flat();
    for (const d of all) {
      if (isActive(d)) {
        d.finishing = true;
        d.abort.abort();
      }
    }
    await Promise.allSettled(all.map((d) => this.settled(d)));
  }

  async #run(d: Deployment, strategy: DeploymentStrategy): Promise<void> {
    // A closed engine leaves deployments where they are rather than racing them to COMPLETE.
    const live = () => isActive(d) && !this.#closed;
    const ticker = this.#tickLoop(d);
    try {
      for (const step of stepsOf(strategy)) {
        await sleep(step.delayMinutes * this.options.timeScale, d.abort.signal);
        if (!live()) return;
        d.PercentageComplete = step.percent;
        const ev = this.#log(d, 'PERCENTAGE_UPDATED', 'APPCONFIG', `Deployment is ${step.percent}% complete`);
        this.#fireOn(d, 'ON_DEPLOYMENT_STEP', ev);
      }
      if (!live()) return;
      d.State = 'BAKING';
      const baking = this.#log(d, 'BAKE_TIME_STARTED', 'APPCONFIG', 'Final bake time started');
      this.#fireOn(d, 'ON_DEPLOYMENT_BAKING', baking);
      await sleep(strategy.FinalBakeTimeInMinutes * this.options.timeScale, d.abort.signal);
      // AT_* points are synchronous with the workflow: a tick still running may roll back, so let it finish.
      d.finishing = true;
      await d.currentTick;
      if (!live()) return;
      d.State = 'COMPLETE';
      d.CompletedAt = new Date();
      d.ctx.environment.State = 'READY_FOR_DEPLOYMENT';
      const done = this.#log(d, 'DEPLOYMENT_COMPLETED', 'APPCONFIG', 'Deployment completed');
      this.#fireOn(d, 'ON_DEPLOYMENT_COMPLETE', done);
    } finally {
      d.finishing = true;
      await ticker;
    }
  }

  async #tickLoop(d: Deployment): Promise<void> {
    const actions = () => actionsFor(this.store, 'AT_DEPLOYMENT_TICK', d.ctx.resourceArns, d.ctx.dynamic);
    if (actions().length === 0) return;
    while (isActive(d) && !d.finishing && !this.#closed) {
      d.currentTick = this.#tick(d, actions());
      await d.currentTick;
      if (!isActive(d) || d.finishing) return;
      await sleep(this.options.tickIntervalMs, d.abort.signal);
    }
  }

  async #tick(d: Deployment, actions: ReturnType<typeof actionsFor>): Promise<void> {
    for (const bound of actions) {
      if (!isActive(d)) return;
      const payload: Record<string, unknown> = {
        ...this.#basePayload(d, 'AT_DEPLOYMENT_TICK', bound.parameters),
        DeploymentState: d.State,
        PercentageComplete: d.PercentageComplete.toFixed(1),
      };
      const outcome = await invokeAction(this.lambda(), bound, payload.InvocationId as string, payload);
      if (outcome.error) {
        this.#rollBack(
          d,
          'APPCONFIG',
          `Extension ${bound.extension.Name} failed at AT_DEPLOYMENT_TICK: ${outcome.error.message}`,
          [outcome.record],
        );
        return;
      }
      const res = outcome.response;
      if (isRecord(res) && res.Directive === 'ROLL_BACK') {
        const why =
          typeof res.Description === 'string' && res.Description ? res.Description : 'ROLL_BACK directive';
        this.#rollBack(d, 'APPCONFIG', `Extension ${bound.extension.Name} requested a roll back: ${why}`, [
          outcome.record,
        ]);
        return;
      }
    }
  }

  #rollBack(d: Deployment, by: TriggeredBy, reason: string, invocations: ActionInvocationRecord[]): void {
    if (!isActive(d)) return;
    d.State = 'ROLLING_BACK';
    d.ctx.environment.State = 'ROLLING_BACK';
    const started = this.#log(d, 'ROLLBACK_STARTED', by, reason);
    started.ActionInvocations.push(...invocations);
    d.abort.abort();
    // Nothing is really deployed locally, so the roll back completes at once.
    d.State = 'ROLLED_BACK';
    d.CompletedAt = new Date();
    d.ctx.environment.State = 'ROLLED_BACK';
    const done = this.#log(d, 'ROLLBACK_COMPLETED', by, 'Roll back completed');
    this.#fireOn(d, 'ON_DEPLOYMENT_ROLLED_BACK', done);
  }

  /** ON_* points run asynchronously; their errors are recorded in the event log and otherwise ignored. */
  #fireOn(d: Deployment, point: ActionPoint, event: DeploymentEvent): void {
    if (this.#closed) return;
    for (const bound of actionsFor(this.store, point, d.ctx.resourceArns, d.ctx.dynamic)) {
      const payload = this.#basePayload(d, point, bound.parameters);
      const p = invokeAction(this.lambda(), bound, payload.InvocationId as string, payload).then(
        (outcome) => {
          event.ActionInvocations.push(outcome.record);
        },
      );
      d.pending.add(p);
      void p.finally(() => d.pending.delete(p));
    }
  }

  /** The fields common to AT_* and ON_* payloads (appconfig.md §2.3, §2.4). */
  #basePayload(
    d: Deployment,
    point: ActionPoint,
    parameters: Record<string, string>,
  ): Record<string, unknown> {
    const { application, environment, profile } = d.ctx;
    return {
      InvocationId: this.options.newInvocationId(),
      Parameters: parameters,
      Type:
        point === 'AT_DEPLOYMENT_TICK'
          ? (this.options.quirks.tickType ?? PAYLOAD_TYPES[point])
          : PAYLOAD_TYPES[point],
      Application: { Id: application.Id, Name: application.Name },
      Environment: { Id: environment.Id, Name: environment.Name },
      ConfigurationProfile: { Id: profile.Id, Name: profile.Name },
      DeploymentNumber: this.options.quirks.deploymentNumberAsString
        ? String(d.DeploymentNumber)
        : d.DeploymentNumber,
      Description: d.Description ?? '',
      ConfigurationVersion: d.ConfigurationVersion,
    };
  }

  #log(d: Deployment, type: string, by: TriggeredBy, description: string): DeploymentEvent {
    const ev: DeploymentEvent = {
      EventType: type,
      TriggeredBy: by,
      Description: description,
      ActionInvocations: [],
      OccurredAt: new Date(),
    };
    d.EventLog.push(ev);
    return ev;
  }
}

function isActive(d: Deployment): boolean {
  return d.State === 'DEPLOYING' || d.State === 'BAKING';
}

/**
 * The strategy's steps: LINEAR grows by GrowthFactor each step, EXPONENTIAL as GrowthFactor × 2^N; the steps are
 * spread evenly over DeploymentDurationInMinutes.
 */
export function stepsOf(s: DeploymentStrategy): { delayMinutes: number; percent: number }[] {
  const percents: number[] = [];
  if (s.GrowthType === 'EXPONENTIAL') {
    for (let p = s.GrowthFactor; ; p *= 2) {
      percents.push(Math.min(100, p));
      if (p >= 100) break;
    }
  } else {
    for (let i = 1; ; i++) {
      const p = Math.min(100, s.GrowthFactor * i);
      percents.push(p);
      if (p >= 100) break;
    }
  }
  const delay = s.DeploymentDurationInMinutes / percents.length;
  return percents.map((percent) => ({ delayMinutes: delay, percent: Math.round(percent * 100) / 100 }));
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0 || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/** The Deployment shape of GetDeployment/StartDeployment/StopDeployment (timestamps as RFC 3339 strings). */
export function deploymentJson(d: Deployment, kmsKeyArn?: string) {
  return {
    ApplicationId: d.ApplicationId,
    EnvironmentId: d.EnvironmentId,
    DeploymentStrategyId: d.DeploymentStrategyId,
    ConfigurationProfileId: d.ConfigurationProfileId,
    DeploymentNumber: d.DeploymentNumber,
    ConfigurationName: d.ConfigurationName,
    ConfigurationLocationUri: d.ConfigurationLocationUri,
    ConfigurationVersion: d.ConfigurationVersion,
    Description: d.Description,
    DeploymentDurationInMinutes: d.DeploymentDurationInMinutes,
    GrowthType: d.GrowthType,
    GrowthFactor: d.GrowthFactor,
    FinalBakeTimeInMinutes: d.FinalBakeTimeInMinutes,
    State: d.State,
    // AWS lists the newest event first.
    EventLog: [...d.EventLog].reverse().map((e) => ({ ...e, OccurredAt: timestamp(e.OccurredAt) })),
    PercentageComplete: d.PercentageComplete,
    StartedAt: timestamp(d.StartedAt),
    CompletedAt: d.CompletedAt ? timestamp(d.CompletedAt) : undefined,
    AppliedExtensions: d.AppliedExtensions,
    VersionLabel: d.VersionLabel,
    KmsKeyIdentifier: d.KmsKeyIdentifier,
    KmsKeyArn: kmsKeyArn,
  };
}

export function deploymentSummaryJson(d: Deployment) {
  return {
    DeploymentNumber: d.DeploymentNumber,
    ConfigurationName: d.ConfigurationName,
    ConfigurationVersion: d.ConfigurationVersion,
    DeploymentDurationInMinutes: d.DeploymentDurationInMinutes,
    GrowthType: d.GrowthType,
    GrowthFactor: d.GrowthFactor,
    FinalBakeTimeInMinutes: d.FinalBakeTimeInMinutes,
    State: d.State,
    PercentageComplete: d.PercentageComplete,
    StartedAt: timestamp(d.StartedAt),
    CompletedAt: d.CompletedAt ? timestamp(d.CompletedAt) : undefined,
    VersionLabel: d.VersionLabel,
  };
}

/** AppConfig's model marks these timestamps `date-time`: RFC 3339 strings, not restJson1's epoch seconds. */
export function timestamp(date: Date): string {
  return date.toISOString();
}

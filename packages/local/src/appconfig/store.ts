import { randomBytes } from 'node:crypto';
import { badRequest, notFound } from './errors.js';

export interface Application {
  Id: string;
  Name: string;
  Description?: string;
}

export type EnvironmentState =
  | 'READY_FOR_DEPLOYMENT'
  | 'DEPLOYING'
  | 'ROLLING_BACK'
  | 'ROLLED_BACK'
  | 'REVERTED';

export interface Environment {
  ApplicationId: string;
  Id: string;
  Name: string;
  Description?: string;
  State: EnvironmentState;
  Monitors: unknown[];
}

export interface ConfigurationProfile {
  ApplicationId: string;
  Id: string;
  Name: string;
  Description?: string;
  LocationUri: string;
  RetrievalRoleArn?: string;
  Validators: unknown[];
  Type: string;
  KmsKeyIdentifier?: string;
}

export interface HostedVersion {
  ApplicationId: string;
  ConfigurationProfileId: string;
  VersionNumber: number;
  Description?: string;
  Content: Buffer;
  ContentType: string;
  VersionLabel?: string;
}

export interface DeploymentStrategy {
  Id: string;
  Name: string;
  Description?: string;
  DeploymentDurationInMinutes: number;
  GrowthType: 'LINEAR' | 'EXPONENTIAL';
  GrowthFactor: number;
  FinalBakeTimeInMinutes: number;
  ReplicateTo: string;
}

export interface ExtensionParameter {
  Description?: string;
  Required?: boolean;
  Dynamic?: boolean;
}

export interface ExtensionAction {
  Name: string;
  Description?: string;
  Uri: string;
  RoleArn?: string;
}

export interface ExtensionVersion {
  Id: string;
  Name: string;
  VersionNumber: number;
  Arn: string;
  Description?: string;
  Actions: Record<string, ExtensionAction[]>;
  Parameters: Record<string, ExtensionParameter>;
}

export interface ExtensionAssociation {
  Id: string;
  Arn: string;
  ExtensionId: string;
  /** Undefined: the association follows the extension's latest version. */
  PinnedVersion?: number;
  ResourceArn: string;
  Parameters: Record<string, string>;
}

/** The in-memory state of one local AppConfig "account and region". */
export class Store {
  readonly applications = new Map<string, Application>();
  readonly environments = new Map<string, Environment>();
  readonly profiles = new Map<string, ConfigurationProfile>();
  /** Keyed by profile id, in version order. */
  readonly hostedVersions = new Map<string, HostedVersion[]>();
  readonly strategies = new Map<string, DeploymentStrategy>();
  /** Keyed by extension id, in version order. */
  readonly extensions = new Map<string, ExtensionVersion[]>();
  readonly associations = new Map<string, ExtensionAssociation>();

  constructor(
    readonly region: string,
    readonly accountId: string,
  ) {}

  /** AppConfig ids are 7 characters of `[a-z0-9]`. */
  newId(taken: (id: string) => boolean = () => false): string {
    const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
    for (;;) {
      const id = [...randomBytes(7)].map((b) => alphabet[b % alphabet.length]).join('');
      if (!taken(id)) return id;
    }
  }

  arn(resource: string): string {
    return `arn:aws:appconfig:${this.region}:${this.accountId}:${resource}`;
  }

  applicationArn(appId: string): string {
    return this.arn(`application/${appId}`);
  }

  environmentArn(env: Environment): string {
    return this.arn(`application/${env.ApplicationId}/environment/${env.Id}`);
  }

  profileArn(profile: ConfigurationProfile): string {
    return this.arn(`application/${profile.ApplicationId}/configurationprofile/${profile.Id}`);
  }

  extensionArn(id: string, version: number): string {
    return this.arn(`extension/${id}/${version}`);
  }

  getApplication(id: string): Application {
    const app = this.applications.get(id);
    if (!app) throw notFound('Application', `Application ${id} not found`);
    return app;
  }

  getEnvironment(appId: string, envId: string): Environment {
    this.getApplication(appId);
    const env = this.environments.get(envId);
    if (!env || env.ApplicationId !== appId) throw notFound('Environment', `Environment ${envId} not found`);
    return env;
  }

  getProfile(appId: string, profileId: string): ConfigurationProfile {
    this.getApplication(appId);
    const profile = this.profiles.get(profileId);
    if (!profile || profile.ApplicationId !== appId) {
      throw notFound('ConfigurationProfile', `Configuration profile ${profileId} not found`);
    }
    return profile;
  }

  getStrategy(id: string): DeploymentStrategy {
    const s = this.strategies.get(id) ?? [...this.strategies.values()].find((x) => x.Name === id);
    if (!s) throw notFound('DeploymentStrategy', `Deployment strategy ${id} not found`);
    return s;
  }

  /** An extension by name, id or ARN (an ARN names a version); `version` picks another one. */
  findExtension(identifier: string, version?: number): ExtensionVersion | undefined {
    let id = identifier;
    let v = version;
    const arnMatch = /^arn:aws:appconfig:[^:]*:[^:]*:extension\/([^/]+)(?:\/(\d+))?$/.exec(identifier);
    if (arnMatch) {
      id = arnMatch[1]!;
      if (v === undefined && arnMatch[2]) v = Number(arnMatch[2]);
    }
    const versions =
      this.extensions.get(id) ?? [...this.extensions.values()].find((list) => list[0]?.Name === identifier);
    if (!versions?.length) return undefined;
    return v === undefined ? versions[versions.length - 1] : versions.find((x) => x.VersionNumber === v);
  }

  getExtension(identifier: string, version?: number): ExtensionVersion {
    const ext = this.findExtension(identifier, version);
    if (!ext) {
      throw notFound(
        'Extension',
        `Extension ${identifier}${version === undefined ? '' : ` version ${version}`} not found`,
      );
    }
    return ext;
  }

  /** The extension version an association runs: its pinned version, or the latest. */
  associatedExtension(assoc: ExtensionAssociation): ExtensionVersion | undefined {
    return this.findExtension(assoc.ExtensionId, assoc.PinnedVersion);
  }

  /** What an association's `ResourceIdentifier` ARN points at, or a 404. */
  resolveResourceArn(arn: string): {
    kind: 'application' | 'environment' | 'configurationprofile';
    arn: string;
  } {
    const m =
      /^arn:aws:appconfig:[^:]*:[^:]*:application\/([a-z0-9]+)(?:\/(environment|configurationprofile)\/([a-z0-9]+))?$/.exec(
        arn,
      );
    if (!m)
      throw badRequest(`ResourceIdentifier ${arn} is not the ARN of an application, environment or profile`);
    const [, appId, kind, id] = m;
    if (!kind) {
      this.getApplication(appId!);
      return { kind: 'application', arn: this.applicationArn(appId!) };
    }
    if (kind === 'environment') return { kind, arn: this.environmentArn(this.getEnvironment(appId!, id!)) };
    return { kind: 'configurationprofile', arn: this.profileArn(this.getProfile(appId!, id!)) };
  }
}

/** `max_results` / `next_token` paging over a list; the token is an opaque offset. */
export function paginate<T>(items: T[], query: URLSearchParams): { Items: T[]; NextToken?: string } {
  const max = Number(query.get('max_results') ?? 50);
  if (!Number.isInteger(max) || max < 1 || max > 50) throw badRequest('max_results must be between 1 and 50');
  const token = query.get('next_token');
  const start = token ? Number(Buffer.from(token, 'base64url').toString('utf8')) : 0;
  if (!Number.isInteger(start) || start < 0) throw badRequest('Invalid next_token');
  const page = items.slice(start, start + max);
  const next =
    start + max < items.length ? Buffer.from(String(start + max)).toString('base64url') : undefined;
  return next ? { Items: page, NextToken: next } : { Items: page };
}

import type { ServerContext } from './context.js';
import { type AppliedExtension, deploymentJson, deploymentSummaryJson } from './deployments.js';
import { badRequest, conflict, notFound } from './errors.js';
import { findHostedVersion } from './hosted-versions.js';
import type { Router } from './http.js';
import {
  type ActionInvocationRecord,
  actionsFor,
  invokeAction,
  isRecord,
  rejection,
  replacedContent,
} from './invoke-actions.js';
import { paginate } from './store.js';
import { optionalString, requiredString } from './validate.js';
import { runValidators } from './validators.js';

const BASE = '/applications/{ApplicationId}/environments/{EnvironmentId}/deployments';
const DYNAMIC_KEY = /^([^#\n]{1,96})#([^/#\n]{1,64})$/;

/** StartDeployment (with PRE_START_DEPLOYMENT in the request), GetDeployment, ListDeployments, StopDeployment. */
export function registerDeploymentRoutes(router: Router, ctx: ServerContext): void {
  const { store, engine } = ctx;

  router
    .add('POST', BASE, async (req) => {
      const app = store.getApplication(req.params.ApplicationId!);
      const env = store.getEnvironment(app.Id, req.params.EnvironmentId!);
      const body = req.json();
      const strategy = store.getStrategy(requiredString(body, 'DeploymentStrategyId'));
      const profile = store.getProfile(app.Id, requiredString(body, 'ConfigurationProfileId'));
      const versionRef = requiredString(body, 'ConfigurationVersion', { max: 1024 });
      const description = optionalString(body, 'Description', { max: 1024 });
      const kmsKey = optionalString(body, 'KmsKeyIdentifier', { max: 2048 });
      if (profile.LocationUri !== 'hosted') {
        throw badRequest(`The local stack deploys hosted configurations only, not ${profile.LocationUri}`);
      }
      const version = findHostedVersion(ctx, profile.Id, versionRef);
      if (!version) throw notFound('ConfigurationVersion', `Configuration version ${versionRef} not found`);
      if (engine.active(env.Id)) {
        throw conflict(`Environment ${env.Id} already has a deployment in progress`);
      }
      const resourceArns = [
        store.applicationArn(app.Id),
        store.environmentArn(env),
        store.profileArn(profile),
      ];
      // Validators check the stored version before any extension sees it (AWS does not document the order).
      await runValidators(ctx, profile, version);
      const dynamic = dynamicParameters(ctx, body.DynamicExtensionParameters, resourceArns);
      const deploymentNumber = engine.nextNumber(env.Id);

      let content = version.Content;
      const invocations: ActionInvocationRecord[] = [];
      for (const bound of actionsFor(store, 'PRE_START_DEPLOYMENT', resourceArns, dynamic)) {
        const invocationId = ctx.newInvocationId();
        const outcome = await invokeAction(ctx.lambda(), bound, invocationId, {
          InvocationId: invocationId,
          Parameters: bound.parameters,
          ContentType: version.ContentType,
          ContentVersion: String(version.VersionNumber),
          Content: content.toString('base64'),
          Application: { Id: app.Id, Name: app.Name },
          Environment: { Id: env.Id, Name: env.Name },
          ConfigurationProfile: { Id: profile.Id, Name: profile.Name },
          DeploymentNumber: ctx.quirks.deploymentNumberAsString ? String(deploymentNumber) : deploymentNumber,
          Description: description ?? '',
          Type: 'PreStartDeployment',
        });
        if (outcome.error) throw rejection('PRE_START_DEPLOYMENT', bound, outcome);
        invocations.push(outcome.record);
        content = replacedContent(bound, 'PRE_START_DEPLOYMENT', outcome.response) ?? content;
      }
      // A deployment may have started while the extensions ran.
      if (engine.active(env.Id)) throw conflict(`Environment ${env.Id} already has a deployment in progress`);

      const applied: AppliedExtension[] = [];
      for (const arn of resourceArns) {
        for (const a of store.associations.values()) {
          const ext = a.ResourceArn === arn ? store.associatedExtension(a) : undefined;
          if (ext) {
            applied.push({
              ExtensionId: ext.Id,
              ExtensionAssociationId: a.Id,
              VersionNumber: ext.VersionNumber,
              Parameters: { ...a.Parameters, ...dynamic.get(ext.Id) },
            });
          }
        }
      }
      const d = engine.start(
        {
          ApplicationId: app.Id,
          EnvironmentId: env.Id,
          DeploymentStrategyId: strategy.Id,
          ConfigurationProfileId: profile.Id,
          DeploymentNumber: deploymentNumber,
          ConfigurationName: profile.Name,
          ConfigurationLocationUri: profile.LocationUri,
          ConfigurationVersion: String(version.VersionNumber),
          DeploymentDurationInMinutes: strategy.DeploymentDurationInMinutes,
          GrowthType: strategy.GrowthType,
          GrowthFactor: strategy.GrowthFactor,
          FinalBakeTimeInMinutes: strategy.FinalBakeTimeInMinutes,
          AppliedExtensions: applied,
          ...(description !== undefined ? { Description: description } : {}),
          ...(version.VersionLabel ? { VersionLabel: version.VersionLabel } : {}),
          ...(kmsKey ? { KmsKeyIdentifier: kmsKey } : {}),
          ctx: {
            application: { Id: app.Id, Name: app.Name },
            environment: env,
            profile: { Id: profile.Id, Name: profile.Name, arn: store.profileArn(profile) },
            resourceArns,
            dynamic,
            content,
            contentType: version.ContentType,
          },
        },
        strategy,
        invocations,
      );
      return { status: 201, json: deploymentJson(d) };
    })
    .add('GET', BASE, (req) => {
      const env = store.getEnvironment(req.params.ApplicationId!, req.params.EnvironmentId!);
      const items = [...engine.list(env.Id)].reverse().map(deploymentSummaryJson);
      return { status: 200, json: paginate(items, req.query) };
    })
    .add('GET', `${BASE}/{DeploymentNumber}`, (req) => ({
      status: 200,
      json: deploymentJson(findDeployment(ctx, req.params)),
    }))
    .add('DELETE', `${BASE}/{DeploymentNumber}`, (req) => {
      const d = findDeployment(ctx, req.params);
      const allowRevert = req.header('allow-revert') === 'true';
      if (!engine.stop(d, allowRevert)) {
        throw badRequest(`Deployment ${d.DeploymentNumber} is ${d.State} and cannot be stopped`);
      }
      return { status: 202, json: deploymentJson(d) };
    });
}

function findDeployment(ctx: ServerContext, params: Record<string, string>) {
  const env = ctx.store.getEnvironment(params.ApplicationId!, params.EnvironmentId!);
  const d = ctx.engine.list(env.Id).find((x) => String(x.DeploymentNumber) === params.DeploymentNumber);
  if (!d) throw notFound('Deployment', `Deployment ${params.DeploymentNumber} not found`);
  return d;
}

/**
 * `DynamicExtensionParameters` (`<extension id or ARN>#<parameter>` → value): 1–10 entries, each naming an
 * extension associated with the deployment's resources and a parameter it declares `Dynamic`. Returns the values
 * by extension id. AWS documents them for PRE_START_DEPLOYMENT only and does not say how they reach the payload;
 * we merge them into `Parameters` of every action of that deployment.
 */
function dynamicParameters(
  ctx: ServerContext,
  value: unknown,
  resourceArns: string[],
): Map<string, Record<string, string>> {
  const out = new Map<string, Record<string, string>>();
  if (value == null) return out;
  if (!isRecord(value)) throw badRequest('DynamicExtensionParameters must be a map');
  const entries = Object.entries(value);
  if (entries.length < 1 || entries.length > 10) {
    throw badRequest('DynamicExtensionParameters must have between 1 and 10 entries');
  }
  const associated = [...ctx.store.associations.values()]
    .filter((a) => resourceArns.includes(a.ResourceArn))
    .map((a) => ctx.store.associatedExtension(a))
    .filter((e) => e !== undefined);
  for (const [key, v] of entries) {
    const m = DYNAMIC_KEY.exec(key);
    if (!m)
      throw badRequest(
        `DynamicExtensionParameters key ${key} must look like <extension id or ARN>#<parameter>`,
      );
    if (typeof v !== 'string' || v.length < 1 || v.length > 2048) {
      throw badRequest(`DynamicExtensionParameters ${key} must be a string of 1 to 2048 characters`);
    }
    const ref = ctx.store.findExtension(m[1]!);
    const ext = ref && associated.find((e) => e.Id === ref.Id);
    if (!ext) throw badRequest(`Extension ${m[1]} is not associated with this deployment's resources`);
    if (!ext.Parameters[m[2]!]?.Dynamic) {
      throw badRequest(`Parameter ${m[2]} of extension ${ext.Name} is not a dynamic parameter`);
    }
    out.set(ext.Id, { ...out.get(ext.Id), [m[2]!]: v });
  }
  return out;
}

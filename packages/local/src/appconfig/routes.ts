import type { ServerContext } from './context.js';
import { badRequest, conflict } from './errors.js';
import type { Reply, Router } from './http.js';
import { type ConfigurationProfile, type DeploymentStrategy, type Environment, paginate } from './store.js';
import { optionalNumber, optionalString, requiredString } from './validate.js';

const ok = (json: unknown, status = 200): Reply => ({ status, json });
const noContent: Reply = { status: 204 };

/** Applications, environments, configuration profiles and deployment strategies. */
export function registerResourceRoutes(router: Router, ctx: ServerContext): void {
  const { store } = ctx;

  router
    .add('POST', '/applications', (req) => {
      const body = req.json();
      const Name = requiredString(body, 'Name', { max: 64 });
      const Description = optionalString(body, 'Description', { max: 1024 });
      const app = { Id: store.newId((id) => store.applications.has(id)), Name, Description };
      store.applications.set(app.Id, app);
      return ok(app, 201);
    })
    .add('GET', '/applications', (req) => ok(paginate([...store.applications.values()], req.query)))
    .add('GET', '/applications/{ApplicationId}', (req) => ok(store.getApplication(req.params.ApplicationId!)))
    .add('PATCH', '/applications/{ApplicationId}', (req) => {
      const app = store.getApplication(req.params.ApplicationId!);
      const body = req.json();
      app.Name = optionalString(body, 'Name', { min: 1, max: 64 }) ?? app.Name;
      app.Description = optionalString(body, 'Description', { max: 1024 }) ?? app.Description;
      return ok(app);
    })
    .add('DELETE', '/applications/{ApplicationId}', (req) => {
      const app = store.getApplication(req.params.ApplicationId!);
      for (const env of store.environments.values()) {
        if (env.ApplicationId === app.Id && ctx.engine.active(env.Id)) {
          throw conflict(`Environment ${env.Id} has a deployment in progress`);
        }
      }
      for (const [id, env] of store.environments)
        if (env.ApplicationId === app.Id) store.environments.delete(id);
      for (const [id, p] of store.profiles) {
        if (p.ApplicationId === app.Id) {
          store.profiles.delete(id);
          store.hostedVersions.delete(id);
        }
      }
      store.applications.delete(app.Id);
      return noContent;
    });

  router
    .add('POST', '/applications/{ApplicationId}/environments', (req) => {
      const app = store.getApplication(req.params.ApplicationId!);
      const body = req.json();
      const env: Environment = {
        ApplicationId: app.Id,
        Id: store.newId((id) => store.environments.has(id)),
        Name: requiredString(body, 'Name', { max: 64 }),
        Description: optionalString(body, 'Description', { max: 1024 }),
        State: 'READY_FOR_DEPLOYMENT',
        Monitors: Array.isArray(body.Monitors) ? body.Monitors : [],
      };
      store.environments.set(env.Id, env);
      return ok(env, 201);
    })
    .add('GET', '/applications/{ApplicationId}/environments', (req) => {
      const app = store.getApplication(req.params.ApplicationId!);
      return ok(
        paginate(
          [...store.environments.values()].filter((e) => e.ApplicationId === app.Id),
          req.query,
        ),
      );
    })
    .add('GET', '/applications/{ApplicationId}/environments/{EnvironmentId}', (req) =>
      ok(store.getEnvironment(req.params.ApplicationId!, req.params.EnvironmentId!)),
    )
    .add('PATCH', '/applications/{ApplicationId}/environments/{EnvironmentId}', (req) => {
      const env = store.getEnvironment(req.params.ApplicationId!, req.params.EnvironmentId!);
      const body = req.json();
      env.Name = optionalString(body, 'Name', { min: 1, max: 64 }) ?? env.Name;
      env.Description = optionalString(body, 'Description', { max: 1024 }) ?? env.Description;
      if (Array.isArray(body.Monitors)) env.Monitors = body.Monitors;
      return ok(env);
    })
    .add('DELETE', '/applications/{ApplicationId}/environments/{EnvironmentId}', (req) => {
      const env = store.getEnvironment(req.params.ApplicationId!, req.params.EnvironmentId!);
      if (ctx.engine.active(env.Id)) throw conflict(`Environment ${env.Id} has a deployment in progress`);
      store.environments.delete(env.Id);
      return noContent;
    });

  router
    .add('POST', '/applications/{ApplicationId}/configurationprofiles', (req) => {
      const app = store.getApplication(req.params.ApplicationId!);
      const body = req.json();
      const type = optionalString(body, 'Type') ?? 'AWS.Freeform';
      if (type !== 'AWS.Freeform' && type !== 'AWS.AppConfig.FeatureFlags') {
        throw badRequest('Type must be AWS.Freeform or AWS.AppConfig.FeatureFlags');
      }
      const validators = Array.isArray(body.Validators) ? body.Validators : [];
      if (validators.length > 2) throw badRequest('A configuration profile has at most 2 validators');
      const profile: ConfigurationProfile = {
        ApplicationId: app.Id,
        Id: store.newId((id) => store.profiles.has(id)),
        Name: requiredString(body, 'Name', { max: 128 }),
        Description: optionalString(body, 'Description', { max: 1024 }),
        LocationUri: requiredString(body, 'LocationUri', { max: 2048 }),
        RetrievalRoleArn: optionalString(body, 'RetrievalRoleArn', { min: 20, max: 2048 }),
        Validators: validators,
        Type: type,
        KmsKeyIdentifier: optionalString(body, 'KmsKeyIdentifier', { max: 2048 }),
      };
      store.profiles.set(profile.Id, profile);
      return ok(profileJson(profile), 201);
    })
    .add('GET', '/applications/{ApplicationId}/configurationprofiles', (req) => {
      const app = store.getApplication(req.params.ApplicationId!);
      const items = [...store.profiles.values()]
        .filter((p) => p.ApplicationId === app.Id)
        .map((p) => ({
          ApplicationId: p.ApplicationId,
          Id: p.Id,
          Name: p.Name,
          LocationUri: p.LocationUri,
          ValidatorTypes: p.Validators.map((v) => (v as { Type?: string }).Type),
          Type: p.Type,
        }));
      return ok(paginate(items, req.query));
    })
    .add('GET', '/applications/{ApplicationId}/configurationprofiles/{ConfigurationProfileId}', (req) =>
      ok(profileJson(store.getProfile(req.params.ApplicationId!, req.params.ConfigurationProfileId!))),
    )
    .add('PATCH', '/applications/{ApplicationId}/configurationprofiles/{ConfigurationProfileId}', (req) => {
      const profile = store.getProfile(req.params.ApplicationId!, req.params.ConfigurationProfileId!);
      const body = req.json();
      profile.Name = optionalString(body, 'Name', { min: 1, max: 128 }) ?? profile.Name;
      profile.Description = optionalString(body, 'Description', { max: 1024 }) ?? profile.Description;
      profile.RetrievalRoleArn = optionalString(body, 'RetrievalRoleArn') ?? profile.RetrievalRoleArn;
      profile.KmsKeyIdentifier = optionalString(body, 'KmsKeyIdentifier') ?? profile.KmsKeyIdentifier;
      if (Array.isArray(body.Validators)) profile.Validators = body.Validators;
      return ok(profileJson(profile));
    })
    .add('DELETE', '/applications/{ApplicationId}/configurationprofiles/{ConfigurationProfileId}', (req) => {
      const profile = store.getProfile(req.params.ApplicationId!, req.params.ConfigurationProfileId!);
      store.profiles.delete(profile.Id);
      store.hostedVersions.delete(profile.Id);
      return noContent;
    });

  router
    .add('POST', '/deploymentstrategies', (req) => {
      const body = req.json();
      const growthType = optionalString(body, 'GrowthType') ?? 'LINEAR';
      if (growthType !== 'LINEAR' && growthType !== 'EXPONENTIAL')
        throw badRequest('GrowthType must be LINEAR or EXPONENTIAL');
      const duration = optionalNumber(body, 'DeploymentDurationInMinutes', 0, 1440);
      const growth = optionalNumber(body, 'GrowthFactor', 1, 100);
      if (duration === undefined) throw badRequest('DeploymentDurationInMinutes is required');
      if (growth === undefined) throw badRequest('GrowthFactor is required');
      const strategy: DeploymentStrategy = {
        Id: store.newId((id) => store.strategies.has(id)),
        Name: requiredString(body, 'Name', { max: 64 }),
        Description: optionalString(body, 'Description', { max: 1024 }),
        DeploymentDurationInMinutes: duration,
        GrowthType: growthType,
        GrowthFactor: growth,
        FinalBakeTimeInMinutes: optionalNumber(body, 'FinalBakeTimeInMinutes', 0, 1440) ?? 0,
        ReplicateTo: optionalString(body, 'ReplicateTo') ?? 'NONE',
      };
      store.strategies.set(strategy.Id, strategy);
      return ok(strategy, 201);
    })
    .add('GET', '/deploymentstrategies', (req) => ok(paginate([...store.strategies.values()], req.query)))
    .add('GET', '/deploymentstrategies/{DeploymentStrategyId}', (req) =>
      ok(store.getStrategy(req.params.DeploymentStrategyId!)),
    )
    .add('PATCH', '/deploymentstrategies/{DeploymentStrategyId}', (req) => {
      const s = store.getStrategy(req.params.DeploymentStrategyId!);
      if (s.Id.startsWith('AppConfig.')) throw badRequest(`${s.Id} is predefined and cannot be changed`);
      const body = req.json();
      s.Description = optionalString(body, 'Description', { max: 1024 }) ?? s.Description;
      s.DeploymentDurationInMinutes =
        optionalNumber(body, 'DeploymentDurationInMinutes', 0, 1440) ?? s.DeploymentDurationInMinutes;
      s.FinalBakeTimeInMinutes =
        optionalNumber(body, 'FinalBakeTimeInMinutes', 0, 1440) ?? s.FinalBakeTimeInMinutes;
      s.GrowthFactor = optionalNumber(body, 'GrowthFactor', 1, 100) ?? s.GrowthFactor;
      const gt = optionalString(body, 'GrowthType');
      if (gt === 'LINEAR' || gt === 'EXPONENTIAL') s.GrowthType = gt;
      return ok(s);
    })
    // The real API path is misspelled "deployementstrategies".
    .add('DELETE', '/deployementstrategies/{DeploymentStrategyId}', (req) => {
      const s = store.getStrategy(req.params.DeploymentStrategyId!);
      if (s.Id.startsWith('AppConfig.')) throw badRequest(`${s.Id} is predefined and cannot be deleted`);
      store.strategies.delete(s.Id);
      return noContent;
    });
}

function profileJson(p: ConfigurationProfile) {
  return { ...p, KmsKeyArn: p.KmsKeyIdentifier?.startsWith('arn:') ? p.KmsKeyIdentifier : undefined };
}

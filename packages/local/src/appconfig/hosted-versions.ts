import type { ServerContext } from './context.js';
import { badRequest, conflict, notFound, payloadTooLarge } from './errors.js';
import type { Reply, Router } from './http.js';
import { actionsFor, invokeAction, rejection, replacedContent } from './invoke-actions.js';
import { type HostedVersion, paginate } from './store.js';
import { runValidators } from './validators.js';

const BASE =
  '/applications/{ApplicationId}/configurationprofiles/{ConfigurationProfileId}/hostedconfigurationversions';

/** Hosted configuration versions, with PRE_CREATE_HOSTED_CONFIGURATION_VERSION run inside the request. */
export function registerHostedVersionRoutes(router: Router, ctx: ServerContext): void {
  const { store } = ctx;

  router
    .add('POST', BASE, async (req) => {
      const app = store.getApplication(req.params.ApplicationId!);
      const profile = store.getProfile(app.Id, req.params.ConfigurationProfileId!);
      if (profile.LocationUri !== 'hosted') {
        throw badRequest(
          `Configuration profile ${profile.Id} is not hosted (LocationUri ${profile.LocationUri})`,
        );
      }
      const contentType = req.header('content-type');
      if (!contentType) throw badRequest('Content-Type is required');
      const description = req.header('description');
      const label = req.header('versionlabel');
      if (label !== undefined && (label.length < 1 || label.length > 64 || /^\d+$/.test(label))) {
        throw badRequest('VersionLabel must be 1 to 64 characters and not a number');
      }
      const versions = store.hostedVersions.get(profile.Id) ?? [];
      const previous = versions[versions.length - 1];
      const latestHeader = req.header('latest-version-number');
      if (latestHeader !== undefined && Number(latestHeader) !== (previous?.VersionNumber ?? 0)) {
        throw conflict(
          `Latest-Version-Number ${latestHeader} does not match the latest version ${previous?.VersionNumber ?? 0}`,
        );
      }
      if (label && versions.some((v) => v.VersionLabel === label)) {
        throw conflict(`VersionLabel ${label} is already used by another version`);
      }
      const limit = ctx.quotas.maxConfigurationBytes;
      if (req.body.length > limit) throw payloadTooLarge(req.body.length, limit);

      const versionNumber = (previous?.VersionNumber ?? 0) + 1;
      let content = req.body;
      // PRE_* extensions run after request validation and before the version is stored, one after the other;
      // each sees the content the previous one returned.
      const resources = [store.applicationArn(app.Id), store.profileArn(profile)];
      for (const bound of actionsFor(store, 'PRE_CREATE_HOSTED_CONFIGURATION_VERSION', resources)) {
        const invocationId = ctx.newInvocationId();
        const payload: Record<string, unknown> = {
          InvocationId: invocationId,
          Parameters: bound.parameters,
          ContentType: contentType,
          ContentVersion: String(versionNumber),
          Content: content.toString('base64'),
          Application: { Id: app.Id, Name: app.Name },
          ConfigurationProfile: { Id: profile.Id, Name: profile.Name },
          Description: description ?? '',
          Type: 'PreCreateHostedConfigurationVersion',
        };
        // AWS does not document PreviousContent for a first version; we leave it out then.
        if (previous) {
          payload.PreviousContent = {
            ContentType: previous.ContentType,
            ContentVersion: String(previous.VersionNumber),
            Content: previous.Content.toString('base64'),
          };
        }
        const outcome = await invokeAction(ctx.lambda(), bound, invocationId, payload);
        if (outcome.error) throw rejection('PRE_CREATE_HOSTED_CONFIGURATION_VERSION', bound, outcome);
        content =
          replacedContent(bound, 'PRE_CREATE_HOSTED_CONFIGURATION_VERSION', outcome.response) ?? content;
      }
      if (content.length > limit) throw payloadTooLarge(content.length, limit);

      // Another request may have stored a version while the extensions ran.
      const current = store.hostedVersions.get(profile.Id) ?? [];
      if ((current[current.length - 1]?.VersionNumber ?? 0) !== versionNumber - 1) {
        throw conflict('Another hosted configuration version was created concurrently');
      }
      const version: HostedVersion = {
        ApplicationId: app.Id,
        ConfigurationProfileId: profile.Id,
        VersionNumber: versionNumber,
        Content: content,
        ContentType: contentType,
        ...(description !== undefined ? { Description: description } : {}),
        ...(label !== undefined ? { VersionLabel: label } : {}),
      };
      current.push(version);
      store.hostedVersions.set(profile.Id, current);
      return versionReply(version, 201);
    })
    .add('GET', BASE, (req) => {
      const profile = store.getProfile(req.params.ApplicationId!, req.params.ConfigurationProfileId!);
      const label = req.query.get('version_label');
      const items = [...(store.hostedVersions.get(profile.Id) ?? [])]
        .reverse()
        .filter((v) => !label || v.VersionLabel === label)
        .map(({ Content: _content, ...summary }) => summary);
      return { status: 200, json: paginate(items, req.query) };
    })
    .add(
      'POST',
      '/applications/{ApplicationId}/configurationprofiles/{ConfigurationProfileId}/validators',
      async (req) => {
        const profile = store.getProfile(req.params.ApplicationId!, req.params.ConfigurationProfileId!);
        const ref = req.query.get('configuration_version');
        if (!ref) throw badRequest('configuration_version is required');
        const version = findHostedVersion(ctx, profile.Id, ref);
        if (!version) throw notFound('ConfigurationVersion', `Configuration version ${ref} not found`);
        await runValidators(ctx, profile, version);
        return { status: 204 };
      },
    )
    .add('GET', `${BASE}/{VersionNumber}`, (req) => versionReply(findVersion(ctx, req.params), 200))
    .add('DELETE', `${BASE}/{VersionNumber}`, (req) => {
      const version = findVersion(ctx, req.params);
      const list = store.hostedVersions.get(version.ConfigurationProfileId)!;
      list.splice(list.indexOf(version), 1);
      return { status: 204 };
    });
}

/** The version a deployment names by `ConfigurationVersion`: its number, or its label. */
export function findHostedVersion(
  ctx: ServerContext,
  profileId: string,
  ref: string,
): HostedVersion | undefined {
  const list = ctx.store.hostedVersions.get(profileId) ?? [];
  return list.find((v) => String(v.VersionNumber) === ref) ?? list.find((v) => v.VersionLabel === ref);
}

function findVersion(ctx: ServerContext, params: Record<string, string>): HostedVersion {
  const profile = ctx.store.getProfile(params.ApplicationId!, params.ConfigurationProfileId!);
  const version = (ctx.store.hostedVersions.get(profile.Id) ?? []).find(
    (v) => String(v.VersionNumber) === params.VersionNumber,
  );
  if (!version) throw notFound('HostedConfigurationVersion', `Version ${params.VersionNumber} not found`);
  return version;
}

/** The version's metadata travels in headers, its content as the raw body. */
function versionReply(v: HostedVersion, status: number): Reply {
  const headers: Record<string, string> = {
    'Application-Id': v.ApplicationId,
    'Configuration-Profile-Id': v.ConfigurationProfileId,
    'Version-Number': String(v.VersionNumber),
    'Content-Type': v.ContentType,
  };
  if (v.Description !== undefined) headers.Description = v.Description;
  if (v.VersionLabel !== undefined) headers.VersionLabel = v.VersionLabel;
  return { status, raw: v.Content, headers };
}

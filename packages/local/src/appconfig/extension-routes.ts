import type { ServerContext } from './context.js';
import { badRequest, conflict, notFound, quotaExceeded } from './errors.js';
import type { Router } from './http.js';
import { type ExtensionAssociation, type ExtensionVersion, paginate } from './store.js';
import {
  NAME_PATTERN,
  optionalString,
  requiredString,
  validateActions,
  validateAssociationParameters,
  validateParameters,
} from './validate.js';

/** Extensions (with versions) and their associations with applications, environments and profiles. */
export function registerExtensionRoutes(router: Router, ctx: ServerContext): void {
  const { store } = ctx;

  router
    .add('POST', '/extensions', (req) => {
      const body = req.json();
      const Name = requiredString(body, 'Name', { pattern: NAME_PATTERN });
      const Description = optionalString(body, 'Description', { max: 1024 });
      const Actions = validateActions(body.Actions);
      const Parameters = validateParameters(body.Parameters);
      const latestHeader = req.header('latest-version-number');
      const existing = [...store.extensions.values()].find((list) => list[0]?.Name === Name);
      let id: string;
      let versionNumber: number;
      if (existing) {
        // A new version is created by CreateExtension with the same name and the current latest version number.
        const latest = existing[existing.length - 1]!;
        if (latestHeader === undefined) {
          throw conflict(
            `An extension named ${Name} already exists; pass Latest-Version-Number to add a version`,
          );
        }
        if (Number(latestHeader) !== latest.VersionNumber) {
          throw conflict(
            `Latest-Version-Number ${latestHeader} does not match ${Name}'s latest version ${latest.VersionNumber}`,
          );
        }
        id = latest.Id;
        versionNumber = latest.VersionNumber + 1;
      } else {
        if (latestHeader !== undefined)
          throw badRequest(`No extension named ${Name} exists to add a version to`);
        if (store.extensions.size >= ctx.quotas.maxExtensions) {
          throw quotaExceeded(`The account already has ${store.extensions.size} extensions`);
        }
        id = store.newId((x) => store.extensions.has(x));
        versionNumber = 1;
      }
      const ext: ExtensionVersion = {
        Id: id,
        Name,
        VersionNumber: versionNumber,
        Arn: store.extensionArn(id, versionNumber),
        Actions,
        Parameters,
        ...(Description !== undefined ? { Description } : {}),
      };
      store.extensions.set(id, [...(store.extensions.get(id) ?? []), ext]);
      return { status: 201, json: ext };
    })
    .add('GET', '/extensions', (req) => {
      const name = req.query.get('name');
      const items = [...store.extensions.values()]
        .map((list) => list[list.length - 1]!)
        .filter((e) => !name || e.Name === name)
        .map(({ Id, Name, VersionNumber, Arn, Description }) => ({
          Id,
          Name,
          VersionNumber,
          Arn,
          Description,
        }));
      return { status: 200, json: paginate(items, req.query) };
    })
    .add('GET', '/extensions/{ExtensionIdentifier}', (req) => ({
      status: 200,
      json: store.getExtension(
        req.params.ExtensionIdentifier!,
        versionQuery(req.query.get('version_number')),
      ),
    }))
    .add('PATCH', '/extensions/{ExtensionIdentifier}', (req) => {
      // UpdateExtension changes one version in place (the latest unless VersionNumber says otherwise); new
      // versions come from CreateExtension with Latest-Version-Number, as on AWS.
      const body = req.json();
      const version = body.VersionNumber === undefined ? undefined : Number(body.VersionNumber);
      const ext = store.getExtension(req.params.ExtensionIdentifier!, version);
      if (body.Actions !== undefined) ext.Actions = validateActions(body.Actions);
      if (body.Parameters !== undefined) ext.Parameters = validateParameters(body.Parameters);
      const description = optionalString(body, 'Description', { max: 1024 });
      if (description !== undefined) ext.Description = description;
      return { status: 200, json: ext };
    })
    .add('DELETE', '/extensions/{ExtensionIdentifier}', (req) => {
      const ext = store.getExtension(req.params.ExtensionIdentifier!, versionQuery(req.query.get('version')));
      const inUse = [...store.associations.values()].filter(
        (a) => a.ExtensionId === ext.Id && store.associatedExtension(a)?.VersionNumber === ext.VersionNumber,
      );
      if (inUse.length) {
        throw badRequest(
          `Extension ${ext.Name} version ${ext.VersionNumber} has associations (${inUse.map((a) => a.Id).join(', ')}); delete them first`,
        );
      }
      const remaining = store.extensions.get(ext.Id)!.filter((v) => v !== ext);
      if (remaining.length) store.extensions.set(ext.Id, remaining);
      else store.extensions.delete(ext.Id);
      return { status: 204 };
    });

  router
    .add('POST', '/extensionassociations', (req) => {
      const body = req.json();
      const identifier = requiredString(body, 'ExtensionIdentifier', { max: 2048 });
      const pinned = body.ExtensionVersionNumber == null ? undefined : Number(body.ExtensionVersionNumber);
      const ext = store.getExtension(identifier, pinned);
      const resource = store.resolveResourceArn(requiredString(body, 'ResourceIdentifier', { max: 2048 }));
      const onResource = [...store.associations.values()].filter((a) => a.ResourceArn === resource.arn);
      if (onResource.some((a) => a.ExtensionId === ext.Id)) {
        throw badRequest(`Extension ${ext.Name} is already associated with ${resource.arn}`);
      }
      if (onResource.length >= ctx.quotas.maxAssociationsPerResource) {
        throw quotaExceeded(`${resource.arn} already has ${onResource.length} extension associations`);
      }
      const id = store.newId((x) => store.associations.has(x));
      const assoc: ExtensionAssociation = {
        Id: id,
        Arn: store.arn(`extensionassociation/${id}`),
        ExtensionId: ext.Id,
        ResourceArn: resource.arn,
        Parameters: validateAssociationParameters(body.Parameters, ext.Parameters),
        ...(pinned !== undefined ? { PinnedVersion: pinned } : {}),
      };
      store.associations.set(id, assoc);
      return { status: 201, json: associationJson(ctx, assoc) };
    })
    .add('GET', '/extensionassociations', (req) => {
      const resource = req.query.get('resource_identifier');
      const extRef = req.query.get('extension_identifier');
      const extVersion = versionQuery(req.query.get('extension_version_number'));
      const ext = extRef ? store.findExtension(extRef) : undefined;
      const items = [...store.associations.values()]
        .filter((a) => !resource || a.ResourceArn === resource)
        .filter((a) => !extRef || a.ExtensionId === ext?.Id)
        .filter((a) => extVersion === undefined || store.associatedExtension(a)?.VersionNumber === extVersion)
        .map((a) => {
          const { Id, ExtensionArn, ResourceArn } = associationJson(ctx, a);
          return { Id, ExtensionArn, ResourceArn };
        });
      return { status: 200, json: paginate(items, req.query) };
    })
    .add('GET', '/extensionassociations/{ExtensionAssociationId}', (req) => ({
      status: 200,
      json: associationJson(ctx, findAssociation(ctx, req.params.ExtensionAssociationId!)),
    }))
    .add('PATCH', '/extensionassociations/{ExtensionAssociationId}', (req) => {
      const assoc = findAssociation(ctx, req.params.ExtensionAssociationId!);
      const ext = store.associatedExtension(assoc);
      if (!ext) throw notFound('Extension', `The associated extension ${assoc.ExtensionId} no longer exists`);
      const body = req.json();
      if (body.Parameters !== undefined) {
        assoc.Parameters = validateAssociationParameters(body.Parameters, ext.Parameters);
      }
      return { status: 200, json: associationJson(ctx, assoc) };
    })
    .add('DELETE', '/extensionassociations/{ExtensionAssociationId}', (req) => {
      const assoc = findAssociation(ctx, req.params.ExtensionAssociationId!);
      store.associations.delete(assoc.Id);
      return { status: 204 };
    });
}

function versionQuery(value: string | null): number | undefined {
  if (value === null || value === '') return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw badRequest(`Invalid version number ${value}`);
  return n;
}

function findAssociation(ctx: ServerContext, id: string): ExtensionAssociation {
  const assoc = ctx.store.associations.get(id);
  if (!assoc) throw notFound('ExtensionAssociation', `Extension association ${id} not found`);
  return assoc;
}

function associationJson(ctx: ServerContext, a: ExtensionAssociation) {
  const ext = ctx.store.associatedExtension(a);
  const version = ext?.VersionNumber ?? a.PinnedVersion ?? 1;
  return {
    Id: a.Id,
    Arn: a.Arn,
    ExtensionArn: ctx.store.extensionArn(a.ExtensionId, version),
    ResourceArn: a.ResourceArn,
    Parameters: a.Parameters,
    ExtensionVersionNumber: version,
  };
}

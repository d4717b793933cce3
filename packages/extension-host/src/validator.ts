import {
  EventParseError,
  type PreCreateHostedConfigurationVersionEvent,
  parseAppConfigEvent,
} from '@pipewright/core';

/**
 * True for an AppConfig *validator* event: camelCase members (`applicationId`, `configurationProfileId`,
 * `configurationVersion`, `content`, `uri`) and no `Type`. Extension events are PascalCase.
 */
export function isValidatorEvent(raw: unknown): raw is Record<string, unknown> {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return false;
  const o = raw as Record<string, unknown>;
  return o.Type === undefined && o.Application === undefined && 'applicationId' in o && 'content' in o;
}

/**
 * Turns a validator event into the PRE_CREATE_HOSTED_CONFIGURATION_VERSION event the plugins already handle.
 * Validators carry no parameters; `parameters` comes from the host's configuration.
 */
export function validatorToPreCreate(
  raw: Record<string, unknown>,
  parameters: Record<string, string>,
): PreCreateHostedConfigurationVersionEvent {
  const text = (v: unknown) => (typeof v === 'string' || typeof v === 'number' ? String(v) : undefined);
  const applicationId = text(raw.applicationId);
  if (!applicationId) throw new EventParseError('applicationId is missing from the validator event');
  const profileId = text(raw.configurationProfileId);
  if (!profileId) throw new EventParseError('configurationProfileId is missing from the validator event');
  if (typeof raw.content !== 'string') throw new EventParseError('content must be a base64 string');
  // Reuse core's tolerant parser (base64 checks, content helpers) on the equivalent extension event.
  const event = parseAppConfigEvent({
    Type: 'PreCreateHostedConfigurationVersion',
    InvocationId: text(raw.uri) ?? '',
    Parameters: parameters,
    Application: { Id: applicationId },
    ConfigurationProfile: { Id: profileId },
    ContentVersion: text(raw.configurationVersion),
    Content: raw.content,
  });
  return event as PreCreateHostedConfigurationVersionEvent;
}

import type { ServerContext } from './context.js';
import { badRequest } from './errors.js';
import type { ConfigurationProfile, HostedVersion } from './store.js';

/**
 * Runs a profile's validators on a hosted version, as StartDeployment and ValidateConfiguration do.
 *
 * LAMBDA validators get AppConfig's camelCase validator event; a function error (the `X-Amz-Function-Error`
 * header, which is what AppConfig checks) fails with BadRequestException, the return value is ignored.
 * JSON_SCHEMA validators are only checked for JSON syntax here: evaluating the (draft-04) schema is not emulated.
 */
export async function runValidators(
  ctx: ServerContext,
  profile: ConfigurationProfile,
  version: HostedVersion,
): Promise<void> {
  for (const raw of profile.Validators) {
    const validator = raw as { Type?: string; Content?: string };
    if (validator.Type === 'JSON_SCHEMA') {
      try {
        JSON.parse(version.Content.toString('utf8'));
      } catch (err) {
        throw badRequest('The configuration is not valid JSON, which its JSON_SCHEMA validator requires', [
          { Type: 'JSON_SCHEMA', Reason: String((err as Error).message) },
        ]);
      }
      continue;
    }
    if (validator.Type !== 'LAMBDA' || !validator.Content) continue;
    const lambda = ctx.lambda();
    if (!lambda) throw badRequest('No local Lambda service is connected to run the LAMBDA validator');
    let result: Awaited<ReturnType<typeof lambda.invoke>>;
    try {
      result = await lambda.invoke(validator.Content, {
        applicationId: version.ApplicationId,
        configurationProfileId: version.ConfigurationProfileId,
        configurationVersion: String(version.VersionNumber),
        content: version.Content.toString('base64'),
        uri: profile.LocationUri,
      });
    } catch (err) {
      throw badRequest(
        `The LAMBDA validator ${validator.Content} could not be invoked: ${(err as Error).message}`,
      );
    }
    if (result.functionError) {
      const shape = JSON.parse(result.payload) as { errorType?: string; errorMessage?: string };
      throw badRequest(`The LAMBDA validator rejected the configuration: ${shape.errorMessage ?? 'failed'}`, [
        { Type: 'LAMBDA', Reason: shape.errorMessage ?? 'failed', Value: result.payload },
      ]);
    }
  }
}

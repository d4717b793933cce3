/** One item of `BadRequestException.Details.InvalidConfiguration`. */
export interface InvalidConfigurationDetail {
  Constraint?: string;
  Location?: string;
  Reason?: string;
  Type?: string;
  Value?: string;
}

/**
 * An AppConfig error as restJson1 carries it: the type in the `x-amzn-errortype` header, the HTTP status of the
 * error shape, and a JSON body with `Message` plus the shape's other members.
 */
export class AppConfigError extends Error {
  constructor(
    readonly type: string,
    readonly status: number,
    message: string,
    readonly members: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = type;
  }

  toBody(): Record<string, unknown> {
    return { Message: this.message, ...this.members };
  }
}

export function badRequest(message: string, details?: InvalidConfigurationDetail[]): AppConfigError {
  return new AppConfigError(
    'BadRequestException',
    400,
    message,
    details ? { Reason: 'InvalidConfiguration', Details: { InvalidConfiguration: details } } : {},
  );
}

export function notFound(resourceName: string, message?: string): AppConfigError {
  return new AppConfigError('ResourceNotFoundException', 404, message ?? `${resourceName} not found`, {
    ResourceName: resourceName,
  });
}

export function conflict(message: string): AppConfigError {
  return new AppConfigError('ConflictException', 409, message);
}

export function quotaExceeded(message: string): AppConfigError {
  return new AppConfigError('ServiceQuotaExceededException', 402, message);
}

export function payloadTooLarge(sizeBytes: number, limitBytes: number): AppConfigError {
  const kb = (n: number) => Math.round((n / 1024) * 100) / 100;
  return new AppConfigError(
    'PayloadTooLargeException',
    413,
    `Configuration size ${kb(sizeBytes)} KB exceeds the limit of ${kb(limitBytes)} KB`,
    { Measure: 'KILOBYTES', Limit: kb(limitBytes), Size: kb(sizeBytes) },
  );
}

/** A CodePipeline error as the JSON 1.1 protocol reports it: `{"__type": name, "message": text}`, HTTP 400. */
export class ServiceError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

export const err = (type: string, message: string) => new ServiceError(type, message);

/**
 * Collects constraint violations and throws them as one ValidationException in AWS's wording:
 * "2 validation errors detected: Value 'x' at 'jobId' failed to satisfy constraint: ...; ...".
 */
export class Checker {
  readonly problems: string[] = [];

  fail(path: string, value: unknown, constraint: string): void {
    const shown = typeof value === 'string' ? value : JSON.stringify(value);
    this.problems.push(`Value '${shown}' at '${path}' failed to satisfy constraint: ${constraint}`);
  }

  required(path: string, value: unknown): boolean {
    if (value === undefined || value === null) {
      this.problems.push(`Value null at '${path}' failed to satisfy constraint: Member must not be null`);
      return false;
    }
    return true;
  }

  string(
    path: string,
    value: unknown,
    o: { min?: number; max?: number; pattern?: RegExp; required?: boolean; enum?: readonly string[] } = {},
  ): void {
    if (value === undefined || value === null) {
      if (o.required) this.required(path, value);
      return;
    }
    if (typeof value !== 'string') {
      this.fail(path, value, 'Member must be a string');
      return;
    }
    if (o.min !== undefined && value.length < o.min)
      this.fail(path, value, `Member must have length greater than or equal to ${o.min}`);
    if (o.max !== undefined && value.length > o.max)
      this.fail(path, value, `Member must have length less than or equal to ${o.max}`);
    if (o.pattern && !o.pattern.test(value))
      this.fail(path, value, `Member must satisfy regular expression pattern: ${o.pattern.source}`);
    if (o.enum && !o.enum.includes(value))
      this.fail(path, value, `Member must satisfy enum value set: [${o.enum.join(', ')}]`);
  }

  integer(path: string, value: unknown, o: { min?: number; max?: number; required?: boolean } = {}): void {
    if (value === undefined || value === null) {
      if (o.required) this.required(path, value);
      return;
    }
    if (typeof value !== 'number' || !Number.isInteger(value)) {
      this.fail(path, value, 'Member must be an integer');
      return;
    }
    if (o.min !== undefined && value < o.min)
      this.fail(path, value, `Member must have value greater than or equal to ${o.min}`);
    if (o.max !== undefined && value > o.max)
      this.fail(path, value, `Member must have value less than or equal to ${o.max}`);
  }

  throwIfAny(): void {
    const n = this.problems.length;
    if (n === 0) return;
    throw err(
      'ValidationException',
      `${n} validation error${n > 1 ? 's' : ''} detected: ${this.problems.join('; ')}`,
    );
  }
}

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export const NAME = /^[A-Za-z0-9.@\-_]+$/;
export const PROVIDER = /^[0-9A-Za-z_-]+$/;
export const CATEGORIES = ['Source', 'Build', 'Deploy', 'Test', 'Invoke', 'Approval', 'Compute'] as const;
export const OWNERS = ['AWS', 'ThirdParty', 'Custom'] as const;

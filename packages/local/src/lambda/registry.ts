import { createWriteStream } from 'node:fs';
import { access, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import yauzl from 'yauzl';

/** A function as a test or `pipewright dev` registers it. */
export interface FunctionDefinition {
  /** Function name (1–64 of `[A-Za-z0-9-_]`), as in `arn:aws:lambda:<region>:<account>:function:<name>`. */
  name: string;
  /**
   * Without `zipFile`: the path of the handler module (`.mjs`, `.js`, `.cjs`), with `exportName` naming the export.
   * With `zipFile`: Lambda's `<module>.<export>` form, e.g. `index.handler`, resolved inside the extracted zip.
   */
  handler: string;
  /** Export of the handler module when `handler` is a path. Default `handler`. */
  exportName?: string;
  /** Path of a built deployment package; it is extracted once to a temporary folder. */
  zipFile?: string;
  /** Environment variables of the function (added to the ones Lambda sets itself). */
  environment?: Record<string, string>;
  /** Default 3000, Lambda's default timeout. */
  timeoutMs?: number;
  /** Default 128. Applied to the runner as `--max-old-space-size`. */
  memoryMb?: number;
}

export interface RegisteredFunction {
  name: string;
  arn: string;
  /** Absolute path of the module the runner imports. */
  modulePath: string;
  exportName: string;
  /** The `Handler` value as Lambda would show it. */
  handler: string;
  environment: Record<string, string>;
  timeoutMs: number;
  memoryMb: number;
  codeRoot: string;
  lastModified: Date;
}

const NAME_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const MODULE_EXTENSIONS = ['.mjs', '.js', '.cjs'];

export class FunctionNotFoundError extends Error {
  constructor(readonly identifier: string) {
    super(`Function not found: ${identifier}`);
    // The name Lambda gives this error, which is what an AppConfig event log records as ErrorCode.
    this.name = 'ResourceNotFoundException';
  }
}

/** Functions by name. Owns the folders zips are extracted to and removes them on `dispose()`. */
export class FunctionRegistry {
  readonly #functions = new Map<string, RegisteredFunction>();
  readonly #tempDirs: string[] = [];

  constructor(
    readonly region: string,
    readonly accountId: string,
  ) {}

  arnOf(name: string): string {
    return `arn:aws:lambda:${this.region}:${this.accountId}:function:${name}`;
  }

  async register(def: FunctionDefinition): Promise<RegisteredFunction> {
    if (!NAME_PATTERN.test(def.name)) {
      throw new TypeError(`Invalid function name ${JSON.stringify(def.name)}: 1-64 of A-Z a-z 0-9 - _`);
    }
    let modulePath: string;
    let exportName: string;
    let codeRoot: string;
    if (def.zipFile) {
      codeRoot = await mkdtemp(path.join(tmpdir(), `pipewright-lambda-${def.name}-`));
      this.#tempDirs.push(codeRoot);
      await extractZip(def.zipFile, codeRoot);
      const dot = def.handler.lastIndexOf('.');
      if (dot <= 0) throw new TypeError(`Handler ${def.handler} must look like <module>.<export>`);
      exportName = def.handler.slice(dot + 1);
      modulePath = await resolveModule(path.join(codeRoot, def.handler.slice(0, dot)));
    } else {
      modulePath = path.resolve(def.handler);
      await access(modulePath);
      exportName = def.exportName ?? 'handler';
      codeRoot = path.dirname(modulePath);
    }
    const fn: RegisteredFunction = {
      name: def.name,
      arn: this.arnOf(def.name),
      modulePath,
      exportName,
      handler: def.zipFile ? def.handler : `${path.basename(modulePath)}.${exportName}`,
      environment: { ...def.environment },
      timeoutMs: def.timeoutMs ?? 3000,
      memoryMb: def.memoryMb ?? 128,
      codeRoot,
      lastModified: new Date(),
    };
    this.#functions.set(def.name, fn);
    return fn;
  }

  /** Accepts a name, a full ARN (with or without qualifier) or a partial ARN `<account>:function:<name>`. */
  resolve(identifier: string): RegisteredFunction {
    const fn = this.#functions.get(nameFromIdentifier(identifier));
    if (!fn)
      throw new FunctionNotFoundError(identifier.startsWith('arn:') ? identifier : this.arnOf(identifier));
    return fn;
  }

  has(identifier: string): boolean {
    return this.#functions.has(nameFromIdentifier(identifier));
  }

  unregister(identifier: string): boolean {
    return this.#functions.delete(nameFromIdentifier(identifier));
  }

  list(): RegisteredFunction[] {
    return [...this.#functions.values()];
  }

  async dispose(): Promise<void> {
    this.#functions.clear();
    await Promise.all(this.#tempDirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
  }
}

export function nameFromIdentifier(identifier: string): string {
  const parts = identifier.split(':');
  // arn:aws:lambda:region:account:function:name[:qualifier]  |  account:function:name[:qualifier]  |  name[:qualifier]
  const fnIndex = parts.indexOf('function');
  if (fnIndex >= 0 && parts[fnIndex + 1]) return parts[fnIndex + 1]!;
  return parts[0]!;
}

async function resolveModule(base: string): Promise<string> {
  for (const ext of MODULE_EXTENSIONS) {
    try {
      await access(base + ext);
      return base + ext;
    } catch {}
  }
  throw new Error(`Cannot find module ${path.basename(base)} (${MODULE_EXTENSIONS.join(', ')}) in the zip`);
}

/** Extracts every file of a zip below `dest`, refusing entries that would escape it (zip-slip). */
export async function extractZip(zipFile: string, dest: string): Promise<void> {
  const root = path.resolve(dest);
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) =>
    yauzl.open(zipFile, { lazyEntries: true }, (err, z) => (err ? reject(err) : resolve(z!))),
  );
  try {
    await new Promise<void>((resolve, reject) => {
      zip.on('error', reject);
      zip.on('end', resolve);
      zip.on('entry', (entry: yauzl.Entry) => {
        const target = path.resolve(root, entry.fileName);
        if (target !== root && !target.startsWith(root + path.sep)) {
          reject(new Error(`Zip entry ${entry.fileName} escapes the extraction folder`));
          return;
        }
        if (entry.fileName.endsWith('/')) {
          mkdir(target, { recursive: true }).then(() => zip.readEntry(), reject);
          return;
        }
        zip.openReadStream(entry, (err, stream) => {
          if (err || !stream) return reject(err);
          mkdir(path.dirname(target), { recursive: true })
            .then(() => pipeline(stream, createWriteStream(target)))
            .then(() => zip.readEntry(), reject);
        });
      });
      zip.readEntry();
    });
  } finally {
    zip.close();
  }
}

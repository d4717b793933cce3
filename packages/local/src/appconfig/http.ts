import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AppConfigError, badRequest, payloadTooLarge } from './errors.js';

export interface Request {
  method: string;
  params: Record<string, string>;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: Buffer;
  /** The body parsed as JSON (an empty body is `{}`). */
  json(): Record<string, unknown>;
  header(name: string): string | undefined;
}

/** What a route returns: a JSON body, or a raw body with headers (hosted configuration versions). */
export type Reply =
  | { status: number; json?: unknown; headers?: Record<string, string> }
  | { status: number; raw: Buffer; headers: Record<string, string> };

type Handler = (req: Request) => Promise<Reply> | Reply;

interface Route {
  method: string;
  pattern: RegExp;
  names: string[];
  handler: Handler;
}

/** A small path-template router: `/applications/{ApplicationId}` binds `ApplicationId`. */
export class Router {
  readonly #routes: Route[] = [];

  add(method: string, template: string, handler: Handler): this {
    const names: string[] = [];
    const source = template.replace(/\{(\w+)\}/g, (_, name: string) => {
      names.push(name);
      return '([^/]+)';
    });
    this.#routes.push({ method, pattern: new RegExp(`^${source}/?$`), names, handler });
    return this;
  }

  async dispatch(raw: IncomingMessage, res: ServerResponse, maxBodyBytes: number): Promise<void> {
    // The SDK reports this header as `$metadata.requestId`.
    res.setHeader('x-amzn-requestid', randomUUID());
    try {
      const url = new URL(raw.url ?? '/', 'http://localhost');
      const route = this.#routes.find((r) => r.method === raw.method && r.pattern.test(url.pathname));
      if (!route) {
        throw new AppConfigError(
          'UnknownOperationException',
          404,
          `No route for ${raw.method} ${url.pathname}`,
        );
      }
      const match = route.pattern.exec(url.pathname)!;
      const params = Object.fromEntries(route.names.map((n, i) => [n, decodeURIComponent(match[i + 1]!)]));
      const body = await readBody(raw, maxBodyBytes);
      let parsed: Record<string, unknown> | undefined;
      const reply = await route.handler({
        method: raw.method!,
        params,
        query: url.searchParams,
        headers: raw.headers,
        body,
        json() {
          if (parsed) return parsed;
          try {
            parsed = body.length ? (JSON.parse(body.toString('utf8')) as Record<string, unknown>) : {};
          } catch {
            throw badRequest('The request body is not valid JSON');
          }
          return parsed;
        },
        header(name) {
          const v = raw.headers[name.toLowerCase()];
          return Array.isArray(v) ? v[0] : v;
        },
      });
      if ('raw' in reply) {
        res.writeHead(reply.status, reply.headers).end(reply.raw);
      } else if (reply.json === undefined) {
        res.writeHead(reply.status, reply.headers).end();
      } else {
        res
          .writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers })
          .end(JSON.stringify(reply.json));
      }
    } catch (err) {
      const error =
        err instanceof AppConfigError
          ? err
          : new AppConfigError('InternalServerException', 500, String((err as Error)?.message ?? err));
      if (res.headersSent) {
        res.end();
        return;
      }
      res
        .writeHead(error.status, { 'content-type': 'application/json', 'x-amzn-errortype': error.type })
        .end(JSON.stringify(error.toBody()));
    }
  }
}

/** Reads the body, refusing (413) one far above every AppConfig limit so a runaway client cannot exhaust memory. */
async function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) throw payloadTooLarge(size, maxBytes);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

import type { Logger } from '@pipewright/core';
import type { Masker } from './masker.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface LogRecord {
  level: LogLevel;
  time: string;
  msg: string;
  [field: string]: unknown;
}

export type LogSink = (record: LogRecord) => void;

/** One JSON object per line on stderr: what log collectors (CloudWatch, Loki, GitHub) ingest best. */
export const jsonLinesSink: LogSink = (record) => {
  process.stderr.write(`${JSON.stringify(record)}\n`);
};

export interface LoggerOptions {
  sink?: LogSink;
  level?: LogLevel;
  fields?: Record<string, unknown>;
  masker?: Masker;
}

/**
 * A structured logger over any sink. Hosts plug in their platform (GitHub workflow commands, Powertools,
 * JSON lines); every message and field goes through the masker first.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const sink = options.sink ?? jsonLinesSink;
  const min = ORDER[options.level ?? 'info'];
  const base = options.fields ?? {};
  const masker = options.masker;
  const emit = (level: LogLevel) => (msg: string, fields?: Record<string, unknown>) => {
    if (ORDER[level] < min) return;
    const record: LogRecord = { level, time: new Date().toISOString(), msg, ...base, ...fields };
    for (const [key, value] of Object.entries(record)) {
      if (value instanceof Error) record[key] = { name: value.name, message: value.message };
    }
    sink(masker ? masker.maskValue(record) : record);
  };
  return {
    debug: emit('debug'),
    info: emit('info'),
    warn: emit('warn'),
    error: emit('error'),
    child: (fields) => createLogger({ ...options, fields: { ...base, ...fields } }),
  };
}

/** A logger that keeps its records, for tests and for summaries. */
export function createMemoryLogger(options: Omit<LoggerOptions, 'sink'> = {}): {
  logger: Logger;
  records: LogRecord[];
} {
  const records: LogRecord[] = [];
  return { logger: createLogger({ level: 'debug', ...options, sink: (r) => records.push(r) }), records };
}

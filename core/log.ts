import { pino, type Logger } from 'pino';

/** One JSON logger per part; the level comes from LULL_LOG_LEVEL (default info). */
export function createLogger(part: string, level = process.env.LULL_LOG_LEVEL ?? 'info'): Logger {
  return pino({ name: part, level, base: { part } });
}

export type { Logger };

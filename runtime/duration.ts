/**
 * Durations on the command line, as Go tools (berglas, chamber, the Secrets Manager Agent's TTL) write
 * them: `60s`, `5m`, `1h30m`, `500ms`, or a plain number of seconds.
 */
import { UsageError } from '../lib/errors.ts';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;

/** The longest a Node timer can wait (2^31 − 1 ms, about 24.8 days); a longer one would fire at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Milliseconds of `text` for option `option`; a UsageError naming both when it is not a duration within bounds. */
export function parseDuration(option: string, text: string, minimumMs = 1): number {
  const ms = durationMs(text.trim());
  const shape = 'a duration such as 30s, 5m, 1h30m or 500ms (a plain number is seconds)';
  if (ms === undefined) throw new UsageError(`${option} must be ${shape}, not "${text}"`);
  if (ms < minimumMs) throw new UsageError(`${option} must be at least ${describeDuration(minimumMs)}, not "${text}"`);
  if (ms > MAX_TIMER_MS) throw new UsageError(`${option} must be at most ${Math.floor(MAX_TIMER_MS / 1000)} seconds (about 24 days), not "${text}"`);
  return ms;
}

function durationMs(text: string): number | undefined {
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  PART.lastIndex = 0;
  let total = 0;
  let end = 0;
  for (let match = PART.exec(text); match; match = PART.exec(text)) {
    total += Number(match[1]) * UNIT_MS[match[2]!]!;
    end = PART.lastIndex;
  }
  return end > 0 && end === text.length ? Math.round(total) : undefined;
}

/** `1500` → `1.5 s`, `120000` → `2 min`: for messages. */
export function describeDuration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 120_000 || ms % 60_000 !== 0) return `${Number((ms / 1000).toFixed(3))} s`;
  return `${ms / 60_000} min`;
}

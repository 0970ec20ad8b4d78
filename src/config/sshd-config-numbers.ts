// Numbers in sshd_config as sshd reads them: ports (a2port) and times
// (convtime).

export const INT_MAX = 2147483647;

/** A bad value on a line, thrown by the value, Match and algorithm parsers; the line reader adds file and line. */
export class SshdValueError extends Error {}

// getservbyname's answer for the one service name configs use.
const SERVICES: Readonly<Record<string, number>> = { ssh: 22 };

/** a2port: 0-65535 or a service name; -1 when neither. */
export function parsePort(s: string): number {
  if (/^\d{1,5}$/.test(s)) {
    const v = Number(s);
    return v <= 65535 ? v : -1;
  }
  return Object.hasOwn(SERVICES, s) ? SERVICES[s]! : -1;
}

const TIME_UNITS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/** convtime: `90`, `1h30m`, `2d`; null when malformed or past INT_MAX seconds. */
export function parseTime(s: string): number | null {
  if (s === '') return null;
  let total = 0;
  const re = /(\d+)([sSmMhHdDwW]?)/y;
  let i = 0;
  while (i < s.length) {
    re.lastIndex = i;
    const m = re.exec(s);
    if (!m) return null;
    const n = Number(m[1]);
    const mult = m[2] === '' ? 1 : TIME_UNITS[m[2]!.toLowerCase()]!;
    if (n > INT_MAX || n * mult > INT_MAX) return null;
    total += n * mult;
    if (total > INT_MAX) return null;
    i = re.lastIndex;
    if (m[2] === '' && i < s.length) return null;
  }
  return total;
}


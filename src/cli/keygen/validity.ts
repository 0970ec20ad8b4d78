// ssh-keygen's certificate times: -V as parse_cert_times reads it
// (`+52w`, `-1d:+1w`, `20260101:20270101`, `always:forever`), and the
// "valid ..." text sshkey_format_cert_validity writes, in local time.
import { fatal } from '../common/exit.js';

export const FOREVER = 0xffff_ffff_ffff_ffffn;

const UNIT_SECONDS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/** OpenSSH's convtime: `90`, `1h30m`, `2w`; null for anything else (or an overflow). */
export function convtime(text: string): number | null {
  if (text === '') return null;
  let total = 0;
  for (const m of text.matchAll(/([0-9]+)([sSmMhHdDwW]?)|(.)/g)) {
    if (m[3] !== undefined) return null;
    const n = Number(m[1]);
    total += n * (UNIT_SECONDS[(m[2] ?? 's').toLowerCase() || 's'] ?? 1);
    if (!Number.isSafeInteger(total) || total > 0x7fffffff) return null;
  }
  return total;
}

function relative(spec: string, now: number): bigint {
  const secs = convtime(spec.slice(1));
  if (secs === null) fatal(`Invalid relative certificate time ${spec}`);
  if (spec.startsWith('-') && secs > now) fatal(`Certificate time ${spec} cannot be represented`);
  return BigInt(now + (spec.startsWith('-') ? -secs : secs));
}

/** YYYYMMDD[HHMM[SS]], local time unless it ends in Z (as misc.c's parse_absolute_time). */
function absolute(spec: string): bigint | null {
  const m = /^([0-9]{4})([0-9]{2})([0-9]{2})(?:([0-9]{2})([0-9]{2})([0-9]{2})?)?(Z?)$/.exec(spec);
  if (!m) return null;
  const f = (i: number) => Number(m[i] ?? 0);
  const [y, mo, d, h, mi, s] = [f(1), f(2) - 1, f(3), f(4), f(5), f(6)];
  const ms = m[7] ? Date.UTC(y, mo, d, h, mi, s) : new Date(y, mo, d, h, mi, s).getTime();
  const back = m[7] ? new Date(ms) : new Date(ms);
  const get = m[7]
    ? [back.getUTCFullYear(), back.getUTCMonth(), back.getUTCDate(), back.getUTCHours(), back.getUTCMinutes(), back.getUTCSeconds()]
    : [back.getFullYear(), back.getMonth(), back.getDate(), back.getHours(), back.getMinutes(), back.getSeconds()];
  // strptime refuses a day or hour out of range; Date would roll it over.
  if (get.join() !== [y, mo, d, h, mi, s].join() || ms < 0) return null;
  return BigInt(Math.floor(ms / 1000));
}

/** -V: [validAfter, validBefore] in seconds since the epoch; `now` in seconds. */
export function parseValidity(spec: string, now: number): [bigint, bigint] {
  if (spec === 'always' || spec === 'forever') return [0n, FOREVER];
  if (spec.startsWith('+') && !spec.includes(':')) {
    const secs = convtime(spec.slice(1));
    if (secs === null) fatal(`Invalid relative certificate life ${spec}`);
    // Backdated to the minute, as ssh-keygen does for clocks a little behind.
    return [BigInt(Math.floor((now - 59) / 60) * 60), BigInt(now + secs)];
  }
  const colon = spec.indexOf(':');
  if (colon <= 0 || colon === spec.length - 1) fatal(`Invalid certificate life specification ${spec}`);
  const from = spec.slice(0, colon);
  const to = spec.slice(colon + 1);
  let after: bigint;
  if (from.startsWith('-') || from.startsWith('+')) after = relative(from, now);
  else if (from === 'always') after = 0n;
  else after = absolute(from) ?? fatal(`Invalid from time "${from}"`);
  let before: bigint;
  if (to.startsWith('-') || to.startsWith('+')) before = relative(to, now);
  else if (to === 'forever') before = FOREVER;
  else before = absolute(to) ?? fatal(`Invalid to time "${to}"`);
  if (before <= after) fatal('Empty certificate validity interval');
  return [after, before];
}

function localTime(seconds: bigint): string {
  const d = new Date(Number(seconds) * 1000);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** `forever`, `after <t>`, `before <t>` or `from <t> to <t>`, as ssh-keygen prints validity. */
export function formatValidity(after: bigint, before: bigint): string {
  if (after === 0n && before === FOREVER) return 'forever';
  if (after === 0n) return `before ${localTime(before)}`;
  if (before === FOREVER) return `after ${localTime(after)}`;
  return `from ${localTime(after)} to ${localTime(before)}`;
}

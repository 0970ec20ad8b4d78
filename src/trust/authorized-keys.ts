// OpenSSH authorized_keys files (sshd(8), AUTHORIZED_KEYS FILE FORMAT):
//   [options] keytype base64-key [comment]
// Options follow sshd's own parser: comma-separated, case-insensitive names,
// values always in double quotes (where `\"` stands for a quote and commas and
// spaces are literal), and a line with any option sshd would refuse is skipped
// as a whole, since sshd would not accept that key either.
import { constantTimeEqual } from '../wire/bytes.js';
import { blobKeyType } from '../keys/blob.js';

/** A line that was skipped, and why. */
export interface TrustFileProblem {
  /** 1-based line number. */
  readonly line: number;
  readonly reason: string;
  readonly source: string | undefined;
}

/** What every trust-file entry holds: the key, its comment and where it came from. */
export interface TrustFileKey {
  readonly keyType: string;
  readonly blob: Uint8Array;
  readonly comment: string;
  /** 1-based line number. */
  readonly line: number;
  readonly source: string | undefined;
}

/** A parsed trust file: the usable entries, and the lines skipped with why. */
export interface ParsedTrustFile<E> {
  readonly entries: readonly E[];
  readonly problems: readonly TrustFileProblem[];
}

export interface AuthorizedKeyOption {
  /** Lower-cased, as sshd compares names case-insensitively. */
  readonly name: string;
  /** The unquoted value, or true for a flag such as `no-pty`. */
  readonly value: string | true;
}

export interface AuthorizedKeyEntry extends TrustFileKey {
  /**
   * Options by name; for the repeatable `environment`, `permitopen` and
   * `permitlisten` this holds the first value and `optionList` holds them all.
   */
  readonly options: ReadonlyMap<string, string | true>;
  readonly optionList: readonly AuthorizedKeyOption[];
  /** The `cert-authority` option: the key signs user certificates and does not log in by itself. */
  readonly certAuthority: boolean;
  /** The earliest `expiry-time`, when present. */
  readonly expiresAt: Date | undefined;
}

export type ParsedAuthorizedKeys = ParsedTrustFile<AuthorizedKeyEntry>;

/** sshd reads lines of any length; this bounds what one bad line can cost. */
export const MAX_TRUST_LINE = 64 * 1024;

export const KNOWN_KEY_TYPES: ReadonlySet<string> = new Set([
  'ssh-ed25519',
  'ssh-rsa',
  'ssh-dss',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'sk-ecdsa-sha2-nistp256@openssh.com',
  'sk-ssh-ed25519@openssh.com',
  'ssh-ed25519-cert-v01@openssh.com',
  'ssh-rsa-cert-v01@openssh.com',
  'ssh-dss-cert-v01@openssh.com',
  'ecdsa-sha2-nistp256-cert-v01@openssh.com',
  'ecdsa-sha2-nistp384-cert-v01@openssh.com',
  'ecdsa-sha2-nistp521-cert-v01@openssh.com',
  'sk-ecdsa-sha2-nistp256-cert-v01@openssh.com',
  'sk-ssh-ed25519-cert-v01@openssh.com',
]);

const BASE64_KEY = /^AAAA[A-Za-z0-9+/]*={0,2}$/;

export interface KeyFields {
  readonly keyType: string;
  readonly blob: Uint8Array;
  readonly comment: string;
}

/** Reads `keytype base64 [comment]` from the start of `rest`; returns a reason string when it is not that. */
export function readKeyFields(rest: string): KeyFields | string {
  const m = /^(\S+)[ \t]*(\S*)(.*)$/s.exec(rest);
  if (!m || m[2] === '') return 'no key after the host or option field';
  const keyType = m[1]!;
  const b64 = m[2]!;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || b64.length % 4 !== 0) return `the ${keyType} key is not valid base64`;
  const blob = new Uint8Array(Buffer.from(b64, 'base64'));
  let inner: string;
  try {
    inner = blobKeyType(blob);
  } catch {
    return `the ${keyType} key blob is malformed`;
  }
  if (inner !== keyType) return `the line says ${keyType} but the key is ${inner}`;
  // trimming by hand: a regex for trailing blanks is quadratic on long blank runs
  return { keyType, blob, comment: m[3]!.trim() };
}

/** Splits text into lines, numbering from 1 and dropping a trailing CR. */
export function* trustFileLines(text: string): Generator<[number, string]> {
  let n = 0;
  for (const raw of text.split('\n')) {
    n++;
    yield [n, raw.endsWith('\r') ? raw.slice(0, -1) : raw];
  }
}

// ------------------------------------------------------------------ options

const FLAGS = ['restrict', 'cert-authority'];
/** Flags that also come as `no-<flag>`. */
const NEGATABLE = ['port-forwarding', 'agent-forwarding', 'x11-forwarding', 'pty', 'user-rc', 'touch-required'];
const VALUED = ['command', 'principals', 'from', 'expiry-time', 'environment', 'permitopen', 'permitlisten', 'tunnel'];
const ONCE = new Set(['command', 'principals', 'from', 'tunnel']);
const FLAG_NAMES = new Set([...FLAGS, 'verify-required', ...NEGATABLE, ...NEGATABLE.map((f) => 'no-' + f)]);

/** Where the option field ends: the first space or tab outside double quotes, or -1 when a quote is left open. */
function optionFieldEnd(s: string): number {
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '\\' && quoted && s[i + 1] === '"') i++;
    else if (c === '"') quoted = !quoted;
    else if (!quoted && (c === ' ' || c === '\t')) return i;
  }
  return quoted ? -1 : s.length;
}

/** `YYYYMMDD[HHMM[SS]]`, local time unless it ends in `Z`, as sshd's parse_absolute_time reads it. */
export function parseExpiryTime(s: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})(?:(\d{2})(\d{2})(\d{2})?)?(Z?)$/i.exec(s);
  if (!m) return undefined;
  const [y, mo, d, h, mi, se] = [m[1], m[2], m[3], m[4] ?? '0', m[5] ?? '0', m[6] ?? '0'].map(Number) as [number, number, number, number, number, number];
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 59) return undefined;
  const date = m[7] ? new Date(Date.UTC(y, mo - 1, d, h, mi, se)) : new Date(y, mo - 1, d, h, mi, se);
  // Date rolls 31 February over into March; sshd's strptime refuses it
  if ((m[7] ? date.getUTCDate() : date.getDate()) !== d) return undefined;
  return date;
}

function checkValue(name: string, value: string): string | undefined {
  if (name === 'environment' && !/^[A-Za-z0-9_]+=/.test(value)) return `environment="${value}" is not NAME=value`;
  if (name === 'expiry-time' && !parseExpiryTime(value)) return `expiry-time="${value}" is not YYYYMMDD[HHMM[SS]][Z]`;
  if (name === 'tunnel' && !(/^any$/i.test(value) || (/^\d{1,10}$/.test(value) && Number(value) <= 0x7fffffff))) return `tunnel="${value}" is not a device number or "any"`;
  // sshd refuses the whole key for a port outside 1..65535.
  const port = (p: string | undefined) => p === '*' || (p !== undefined && /^\d{1,5}$/.test(p) && Number(p) >= 1 && Number(p) <= 65535);
  if (name === 'permitopen') {
    const m = /^(\[[^\]]+\]|[^:[\]]+):(\d{1,5}|\*)$/.exec(value);
    if (!m || !port(m[2])) return `permitopen="${value}" is not host:port`;
  }
  if (name === 'permitlisten') {
    const m = /^(?:(\[[^\]]+\]|[^:[\]]+):)?(\d{1,5}|\*)$/.exec(value);
    if (!m || !port(m[2])) return `permitlisten="${value}" is not [host:]port`;
  }
  return undefined;
}

/** Parses the option field; returns the options or a reason the line is refused. */
export function parseAuthorizedKeyOptions(field: string): AuthorizedKeyOption[] | string {
  const out: AuthorizedKeyOption[] = [];
  const seen = new Set<string>();
  let i = 0;
  while (i < field.length) {
    const nameMatch = /^[A-Za-z0-9_-]+/.exec(field.slice(i));
    const name = nameMatch ? nameMatch[0].toLowerCase() : '';
    i += name.length;
    let value: string | true;
    if (field[i] === '=') {
      if (!VALUED.includes(name)) return name ? `unknown option ${name}=` : 'an option has no name';
      if (field[++i] !== '"') return `${name}= value does not start with a double quote`;
      let v = '';
      i++;
      for (;;) {
        if (i >= field.length) return `${name}= value has no closing double quote`;
        const c = field[i]!;
        if (c === '"') break;
        if (c === '\\' && field[i + 1] === '"') i++;
        v += field[i];
        i++;
      }
      i++;
      const bad = checkValue(name, v);
      if (bad) return bad;
      value = v;
    } else {
      if (!FLAG_NAMES.has(name)) return name ? `unknown option ${name}` : `unexpected "${field[i] ?? ''}" in the options`;
      value = true;
    }
    if (seen.has(name) && ONCE.has(name)) return `option ${name} appears twice`;
    seen.add(name);
    out.push({ name, value });
    if (i === field.length) break;
    if (field[i] !== ',') return `unexpected "${field[i]}" after option ${name}`;
    if (++i === field.length) return 'the options end with a comma';
  }
  return out;
}

function looksLikeKey(first: string, second: string | undefined): boolean {
  if (KNOWN_KEY_TYPES.has(first)) return true;
  // a key type this table does not know yet; blobs still compare byte for byte
  return !/[=,"]/.test(first) && !FLAG_NAMES.has(first.toLowerCase()) && second !== undefined && BASE64_KEY.test(second);
}

/** Parses one non-comment line into an entry, or returns why it is skipped. */
function parseLine(text: string, line: number, source: string | undefined): AuthorizedKeyEntry | string {
  if (text.length > MAX_TRUST_LINE) return `line is longer than ${MAX_TRUST_LINE} characters`;
  if (text.startsWith('@')) return `"${text.split(/[ \t]/, 1)[0]}" markers belong in known_hosts; authorized_keys uses the cert-authority option`;
  const tokens = text.split(/[ \t]+/, 2);
  let optionList: AuthorizedKeyOption[] = [];
  let rest = text;
  if (!looksLikeKey(tokens[0]!, tokens[1])) {
    const end = optionFieldEnd(text);
    if (end < 0) return 'a double quote in the options is never closed';
    const parsed = parseAuthorizedKeyOptions(text.slice(0, end));
    if (typeof parsed === 'string') return parsed;
    optionList = parsed;
    rest = text.slice(end).replace(/^[ \t]+/, '');
    if (rest === '') return 'options but no key';
  }
  const key = readKeyFields(rest);
  if (typeof key === 'string') return key;
  const options = new Map<string, string | true>();
  let expiresAt: Date | undefined;
  for (const o of optionList) {
    if (!options.has(o.name)) options.set(o.name, o.value);
    if (o.name === 'expiry-time' && typeof o.value === 'string') {
      const t = parseExpiryTime(o.value)!;
      if (!expiresAt || t < expiresAt) expiresAt = t;
    }
  }
  return { options, optionList, certAuthority: options.has('cert-authority'), expiresAt, ...key, line, source };
}

/**
 * Parses an authorized_keys file. Lines sshd would refuse are left out of
 * `entries` and reported in `problems`; nothing throws.
 */
export function parseAuthorizedKeys(text: string, source?: string): ParsedAuthorizedKeys {
  return parseTrustFile(text, source, parseLine);
}

/**
 * The shared shape of OpenSSH's trust files: one entry a line, blank lines and
 * `#` comments skipped, and each bad line reported (by `parseLine` returning
 * a reason) instead of thrown.
 */
export function parseTrustFile<E>(
  text: string,
  source: string | undefined,
  parseLine: (text: string, line: number, source: string | undefined) => E | string,
): { entries: E[]; problems: TrustFileProblem[] } {
  const entries: E[] = [];
  const problems: TrustFileProblem[] = [];
  for (const [line, raw] of trustFileLines(text)) {
    const t = raw.replace(/^[ \t]+/, '');
    if (t === '' || t.startsWith('#')) continue;
    const r = parseLine(t, line, source);
    if (typeof r === 'string') problems.push({ line, reason: r, source });
    else entries.push(r);
  }
  return { entries, problems };
}

/** Every value an option was given, in order (for the repeatable ones). */
export function authorizedKeyOptionValues(entry: AuthorizedKeyEntry, name: string): string[] {
  const n = name.toLowerCase();
  return entry.optionList.filter((o) => o.name === n && typeof o.value === 'string').map((o) => o.value as string);
}

/**
 * The first entry whose key is byte-equal to `blob`. By default `cert-authority`
 * entries are passed over, since sshd never accepts a CA key as a plain login
 * key; pass `{ certAuthority: true }` to look only among CA keys. Entries
 * whose expiry-time is before `now` (default: the current time) never match.
 */
export function findAuthorizedKey(
  entries: readonly AuthorizedKeyEntry[],
  blob: Uint8Array,
  opts: { certAuthority?: boolean; now?: Date } = {},
): AuthorizedKeyEntry | undefined {
  const wantCa = opts.certAuthority ?? false;
  const now = (opts.now ?? new Date()).getTime();
  for (const e of entries) {
    if (e.certAuthority !== wantCa) continue;
    if (e.expiresAt && e.expiresAt.getTime() < now) continue;
    if (e.blob.length === blob.length && constantTimeEqual(e.blob, blob)) return e;
  }
  return undefined;
}

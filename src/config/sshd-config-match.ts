// sshd's `Match` lines (servconf.c's match_cfg_line): criteria User, Group,
// Host, Address, LocalAddress, LocalPort, RDomain, Version, invalid-user and
// All, each (but All and invalid-user) with a pattern list, `!` negating an
// entry; all criteria must hold. When the connection lacks what a criterion
// tests (sshd -T without that -C field, or no connection at all), the
// criterion does not match. Also `-C`'s connection spec and address lists.
import { globMatch } from '../wire/glob.js';
import { parseAddress, addressInCidrList } from '../keys/address-match.js';
import { matchPatternList } from './ssh-config-match.js';
import { SshdConfigError, type SshdMatchSpec } from './sshd-config-types.js';
import { parsePort, SshdValueError } from './sshd-config-numbers.js';

export type MatchCriterion =
  | { readonly kind: 'all' }
  | { readonly kind: 'invalid-user' }
  | { readonly kind: 'user' | 'group' | 'host' | 'address' | 'localaddress' | 'rdomain' | 'version'; readonly patterns: string }
  | { readonly kind: 'localport'; readonly port: number };

/** One parsed Match line. */
export interface MatchLine {
  readonly criteria: readonly MatchCriterion[];
  /** The line's text after `Match`, for messages. */
  readonly text: string;
}

/** Nacre's answer to `Match Version` (sshd tests its own release string). */
export const NACRED_VERSION = 'Nacre';

const WITH_VALUE = new Set(['user', 'group', 'host', 'address', 'localaddress', 'localport', 'rdomain', 'version']);

/**
 * addr_match_list's verdict: 1 when `addr` matches a plain entry, -1 when a
 * negated one, 0 when none, -2 when the list is malformed (an empty entry, or
 * a network whose host bits are set). Entries that are not CIDR are
 * wildcard patterns; `addr` null only checks the list. An IPv4-mapped IPv6
 * address is matched as its IPv4 address.
 */
export function addressListMatch(addr: string | null, list: string): 1 | 0 | -1 | -2 {
  // A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d; match them as the IPv4 address they are.
  const mapped = addr === null ? null : /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(addr);
  if (mapped) addr = mapped[1]!;
  let result: 1 | 0 | -1 = 0;
  const valid = addr !== null && parseAddress(addr) !== null;
  for (const raw of list.split(',')) {
    const negated = raw.startsWith('!');
    const entry = negated ? raw.slice(1) : raw;
    if (entry === '') return -2;
    const cidrShape = /^[0-9a-fA-F.:]+(\/\d+)?$/.test(entry) && parseAddress(entry.split('/')[0]!) !== null;
    let hit = false;
    if (cidrShape) {
      const inList = addressInCidrList(valid ? addr! : '0.0.0.0', entry);
      if (inList === null) return -2;
      hit = valid && inList;
    } else if (addr !== null) {
      hit = globMatch(addr, entry);
    }
    if (hit) {
      if (negated) return -1;
      result = 1;
    }
  }
  if (addr !== null && !valid) return 0;
  return result;
}

/** Whether an address list (Match Address, PerSourcePenaltyExemptList) is well-formed. */
export function addressListValid(list: string): boolean {
  return addressListMatch(null, list) !== -2;
}

/** Parses a Match line's arguments; throws SshdValueError with sshd's complaint. */
export function parseMatchLine(args: readonly string[]): MatchLine {
  const criteria: MatchCriterion[] = [];
  let i = 0;
  while (i < args.length) {
    const word = args[i++]!;
    if (word.startsWith('#')) break;
    const lower = word.toLowerCase();
    if (lower === 'all') {
      const next = args[i];
      if (criteria.length > 0 || (next !== undefined && next !== '' && !next.startsWith('#'))) {
        throw new SshdValueError("'all' cannot be combined with other Match attributes");
      }
      return { criteria: [{ kind: 'all' }], text: args.join(' ') };
    }
    if (lower === 'invalid-user') {
      criteria.push({ kind: 'invalid-user' });
      continue;
    }
    let kind = lower;
    let value: string | undefined;
    const eq = word.indexOf('=');
    if (eq > 0 && WITH_VALUE.has(lower.slice(0, eq))) {
      kind = lower.slice(0, eq);
      value = word.slice(eq + 1);
    } else {
      value = args[i++];
    }
    if (value === undefined || value === '' || value.startsWith('#')) throw new SshdValueError(`Missing Match criteria for ${word}`);
    switch (kind) {
      case 'user':
      case 'group':
      case 'host':
      case 'rdomain':
      case 'version':
        criteria.push({ kind, patterns: value });
        break;
      case 'address':
      case 'localaddress':
        if (!addressListValid(value)) throw new SshdValueError(`Invalid Match ${kind} argument '${value}'`);
        criteria.push({ kind, patterns: value });
        break;
      case 'localport': {
        const port = parsePort(value);
        if (port < 0) throw new SshdValueError(`Invalid LocalPort '${value}' on Match line`);
        criteria.push({ kind: 'localport', port });
        break;
      }
      default:
        throw new SshdValueError(`Unsupported Match attribute ${word}`);
    }
  }
  if (criteria.length === 0) throw new SshdValueError('One or more attributes required for Match');
  return { criteria, text: args.join(' ') };
}

/** True when the line is `Match all` (it applies with or without a connection). */
export function matchesAlways(line: MatchLine): boolean {
  return line.criteria.length === 1 && line.criteria[0]!.kind === 'all';
}

/** Whether a Match line applies to `spec` (null: no connection, only `all` applies). */
export function matchLineApplies(line: MatchLine, spec: SshdMatchSpec | null): boolean {
  for (const c of line.criteria) {
    if (c.kind === 'all') return true;
    if (spec === null) return false;
    switch (c.kind) {
      case 'invalid-user':
        if (spec.invalidUser !== true) return false;
        break;
      case 'user':
        if (spec.user === undefined || matchPatternList(spec.user, c.patterns) !== 1) return false;
        break;
      case 'group': {
        if (spec.user === undefined || spec.groups === undefined) return false;
        let found = false;
        for (const g of spec.groups) {
          const r = matchPatternList(g, c.patterns);
          if (r === -1) return false;
          if (r === 1) found = true;
        }
        if (!found) return false;
        break;
      }
      case 'host':
        if (spec.host === undefined || matchPatternList(spec.host, c.patterns, true) !== 1) return false;
        break;
      case 'address':
        if (spec.addr === undefined || addressListMatch(spec.addr, c.patterns) !== 1) return false;
        break;
      case 'localaddress':
        if (spec.laddr === undefined || addressListMatch(spec.laddr, c.patterns) !== 1) return false;
        break;
      case 'localport':
        if (spec.lport === undefined || spec.lport !== c.port) return false;
        break;
      case 'rdomain':
        if (spec.rdomain === undefined || matchPatternList(spec.rdomain, c.patterns) !== 1) return false;
        break;
      case 'version':
        if (matchPatternList(NACRED_VERSION, c.patterns) !== 1) return false;
        break;
    }
  }
  return true;
}

/**
 * sshd's `-C` connection spec: `user=alice,host=example.org,addr=192.0.2.1,
 * laddr=192.0.2.2,lport=22,rdomain=x,invalid-user`. Throws SshdConfigError with sshd's
 * message for an unknown field or a bad port. (Groups are not part of the
 * spec: the caller looks them up for the user, as sshd does.)
 */
export function parseMatchSpec(text: string): SshdMatchSpec {
  const spec: { -readonly [K in keyof SshdMatchSpec]: SshdMatchSpec[K] } = {};
  for (const p of text.split(',')) {
    if (p === '') break; // sshd stops at an empty field
    const eq = p.indexOf('=');
    const key = eq < 0 ? p : p.slice(0, eq);
    const val = p.slice(eq + 1);
    if (eq < 0) {
      if (p === 'invalid-user') {
        spec.invalidUser = true;
        continue;
      }
      throw new SshdConfigError(`Invalid test mode specification ${p}`);
    }
    switch (key) {
      case 'addr':
        spec.addr = val;
        break;
      case 'host':
        spec.host = val;
        break;
      case 'user':
        spec.user = val;
        break;
      case 'laddr':
        spec.laddr = val;
        break;
      case 'rdomain':
        spec.rdomain = val;
        break;
      case 'lport': {
        const port = parsePort(val);
        if (port < 0) throw new SshdConfigError(`Invalid port '${val}' in test mode specification ${p}`);
        spec.lport = port;
        break;
      }
      default:
        throw new SshdConfigError(`Invalid test mode specification ${p}`);
    }
  }
  return spec;
}

// `Host` and `Match` lines: whether the block they open applies, as ssh's
// readconf.c decides (Host patterns against the host, a negated match
// closing the block; Match criteria all true, each a comma-separated
// pattern list, `!` negating a criterion).
import { globMatch } from '../wire/glob.js';
import { addressInCidrList } from '../keys/address-match.js';

/** match_pattern_list: -1 if a negated pattern matches, 1 if a plain one does, else 0. */
export function matchPatternList(s: string, list: string, lowerCase = false): -1 | 0 | 1 {
  const subject = lowerCase ? s.toLowerCase() : s;
  let got: 0 | 1 = 0;
  for (const raw of list.split(',')) {
    const negated = raw.startsWith('!');
    let p = negated ? raw.slice(1) : raw;
    if (lowerCase) p = p.toLowerCase();
    if (globMatch(subject, p)) {
      if (negated) return -1;
      got = 1;
    }
  }
  return got;
}

/** A `Host` line's verdict for `host`: true, false, or false because a `!pattern` matched (it then wins). */
export function hostLineMatches(host: string, patterns: readonly string[]): boolean {
  let matched = false;
  for (const arg of patterns) {
    const negated = arg.startsWith('!');
    if (globMatch(host, negated ? arg.slice(1) : arg)) {
      if (negated) return false;
      matched = true;
    }
  }
  return matched;
}

/** What `Match` criteria are tested against. */
export interface MatchSubject {
  /** The host so far: HostName (its %h expanded) if given, else the host typed; on the final pass, the final host name. */
  readonly host: string;
  /** The host as typed. */
  readonly originalHost: string;
  /** The remote user so far (User, else the local user). */
  readonly user: string;
  readonly localUser: string;
  /** Nacre's version string (for `Match version`). */
  readonly version: string;
  /** 'shell', 'exec', 'subsystem' or 'none'. */
  readonly sessionType: string;
  /** The remote command ('' if none). */
  readonly command: string;
  /** The Tag set so far ('' if none). */
  readonly tag: string;
  /** True on the final pass (`Match canonical`, `Match final`). */
  readonly finalPass: boolean;
  /** The local interfaces' addresses (`Match localnetwork`); undefined when not known. */
  readonly localAddresses?: readonly string[];
  /** Runs a `Match exec` command (its tokens expanded by the caller); true if it exits 0. */
  readonly exec: (command: string) => boolean;
}

export type MatchOutcome = { readonly matches: boolean; readonly wantsFinal: boolean } | { readonly error: string };

const WITH_ARGUMENT = new Set(['host', 'originalhost', 'user', 'localuser', 'exec', 'version', 'sessiontype', 'command', 'tagged', 'localnetwork']);

/** Evaluates a `Match` line's criteria (its arguments). Every criterion is evaluated (as ssh does), `exec` only while the others still match. */
export function evaluateMatch(args: readonly string[], subject: MatchSubject, warn: (message: string) => void): MatchOutcome {
  if (args.length === 0) return { error: 'One or more attributes required for Match' };
  let result = true;
  let wantsFinal = false;
  let count = 0;
  let i = 0;
  while (i < args.length) {
    const raw = args[i++]!;
    if (raw === '') return { error: 'Missing Match criteria' };
    count++;
    const negate = raw.startsWith('!');
    let attr = (negate ? raw.slice(1) : raw).toLowerCase();
    let value: string | undefined;
    const eq = attr.indexOf('=');
    if (eq >= 0) {
      value = (negate ? raw.slice(1) : raw).slice(eq + 1);
      attr = attr.slice(0, eq);
    }
    if (attr === 'all') {
      if (value !== undefined || negate || args.slice(i).length > 0 || (count > 1 && !args.slice(0, i - 1).every((a) => /^!?(canonical|final)$/i.test(a)))) {
        return { error: "'all' cannot be combined with other Match attributes" };
      }
      continue;
    }
    if (attr === 'canonical' || attr === 'final') {
      if (value !== undefined) return { error: `Unsupported Match attribute ${raw}` };
      if (attr === 'final' && !negate) wantsFinal = true;
      if (subject.finalPass === negate) result = false;
      continue;
    }
    if (!WITH_ARGUMENT.has(attr)) return { error: `Unsupported Match attribute ${attr}` };
    if (value === undefined) {
      value = args[i++];
      if (value === undefined || value === '') return { error: `missing argument for Match '${attr}'` };
    }
    let hit: boolean;
    switch (attr) {
      case 'host':
        hit = matchPatternList(subject.host, value, true) === 1;
        break;
      case 'originalhost':
        hit = matchPatternList(subject.originalHost, value, true) === 1;
        break;
      case 'user':
        hit = matchPatternList(subject.user, value) === 1;
        break;
      case 'localuser':
        hit = matchPatternList(subject.localUser, value) === 1;
        break;
      case 'version':
        hit = matchPatternList(subject.version, value) === 1;
        break;
      case 'sessiontype':
        hit = matchPatternList(subject.sessionType, value) === 1;
        break;
      case 'command':
        hit = matchPatternList(subject.command, value) === 1;
        break;
      case 'tagged':
        hit = matchPatternList(subject.tag, value) === 1;
        break;
      case 'localnetwork': {
        if (subject.localAddresses === undefined) {
          warn('Match localnetwork: the local addresses are not known here; treated as not matching');
          hit = false;
          break;
        }
        const results = subject.localAddresses.map((a) => addressInCidrList(a, value!));
        if (results.includes(null)) return { error: `Bad Match condition: invalid network list "${value}"` };
        hit = results.includes(true);
        break;
      }
      default: // exec
        if (!result) {
          // ssh skips the command once an earlier criterion failed.
          hit = !negate;
          break;
        }
        hit = subject.exec(value);
    }
    if (hit === negate) result = false;
  }
  return { matches: result, wantsFinal };
}

// What one login may do, as sshd works it out from the authorized_keys line
// that let a key in and from the certificate the key came with: a forced
// command, environment, and which of PTY, forwarding, agent, X11 and ~/.ssh/rc
// stay allowed. The server's session and forwarding layers consult it; it only
// ever takes away what the application's handlers would otherwise allow.
// Pure: no node:* imports.
import type { AuthorizedKeyEntry } from '../trust/authorized-keys.js';
import { authorizedKeyOptionValues } from '../trust/authorized-keys.js';
import type { CertificateAuthorization } from '../keys/certificate-verify.js';
import { addressInCidrList, parseAddress, parseCidrList } from '../keys/address-match.js';
import { globMatch } from '../wire/glob.js';

/** The restrictions on one authenticated connection. */
export interface Restrictions {
  /** `command=` / `force-command`: runs instead of any shell, command or subsystem the client asks for. */
  readonly command: string | null;
  /** `environment=` values the server permits (see `permitUserEnvironment`), set for every program. */
  readonly environment: Readonly<Record<string, string>>;
  readonly pty: boolean;
  /** TCP and Unix-socket forwarding, both directions (`no-port-forwarding`). */
  readonly portForwarding: boolean;
  readonly agentForwarding: boolean;
  readonly x11Forwarding: boolean;
  /** Whether ~/.ssh/rc may run (Nacre's runner runs none; for applications that do). */
  readonly userRc: boolean;
  /** `permitopen=` `host:port` targets for `ssh -L` (`*` as host or port matches any); null: any. */
  readonly permitOpen: readonly string[] | null;
  /** `permitlisten=` `[host:]port` addresses for `ssh -R` (host a pattern, `*` port any); null: any. */
  readonly permitListen: readonly string[] | null;
  /** `verify-required`: a security-key signature must show user verification. */
  readonly verifyRequired: boolean;
  /** `no-touch-required`: a security-key signature need not show user presence. */
  readonly noTouchRequired: boolean;
}

/** Nothing taken away: what a key without options gets. */
export const UNRESTRICTED: Restrictions = Object.freeze({
  command: null,
  environment: Object.freeze({}),
  pty: true,
  portForwarding: true,
  agentForwarding: true,
  x11Forwarding: true,
  userRc: true,
  permitOpen: null,
  permitListen: null,
  verifyRequired: false,
  noTouchRequired: false,
});

/** The option names of the flags `restrict` turns off, and the Restrictions field each sets. */
const FLAG_FIELDS = {
  pty: 'pty',
  'port-forwarding': 'portForwarding',
  'agent-forwarding': 'agentForwarding',
  'x11-forwarding': 'x11Forwarding',
  'user-rc': 'userRc',
} as const;

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * Whether `environment=NAME=value` lines apply: sshd's PermitUserEnvironment,
 * `true` for all names, a list of patterns (`*`, `?`) for some, false (the
 * default, as sshd's) for none.
 */
export type PermitUserEnvironment = boolean | readonly string[];

/**
 * The restrictions an authorized_keys line's options impose, read in order
 * as sshd does: `restrict` turns every flag off, and a later `pty`,
 * `port-forwarding` ... turns one on again; `no-...` turns one off.
 * `from=` and `expiry-time=` decide whether the line applies at all (see
 * `authorizePublicKey`); `principals=` and `cert-authority` concern
 * certificates.
 */
export function restrictionsFromAuthorizedKey(entry: AuthorizedKeyEntry, permitUserEnvironment: PermitUserEnvironment = false): Restrictions {
  const r: Mutable<Restrictions> = { ...UNRESTRICTED, environment: {} };
  const environment: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const { name, value } of entry.optionList) {
    if (name === 'restrict') {
      for (const field of Object.values(FLAG_FIELDS)) r[field] = false;
    } else if (Object.hasOwn(FLAG_FIELDS, name)) {
      r[FLAG_FIELDS[name as keyof typeof FLAG_FIELDS]] = true;
    } else if (name.startsWith('no-') && Object.hasOwn(FLAG_FIELDS, name.slice(3))) {
      r[FLAG_FIELDS[name.slice(3) as keyof typeof FLAG_FIELDS]] = false;
    } else if (name === 'command' && typeof value === 'string') {
      r.command = value;
    } else if (name === 'environment' && typeof value === 'string') {
      const eq = value.indexOf('=');
      const key = value.slice(0, eq);
      // as sshd: the first value for a name wins
      if (!(key in environment) && environmentPermitted(key, permitUserEnvironment)) environment[key] = value.slice(eq + 1);
    } else if (name === 'verify-required') {
      r.verifyRequired = true;
    } else if (name === 'no-touch-required') {
      r.noTouchRequired = true;
    }
  }
  const open = authorizedKeyOptionValues(entry, 'permitopen');
  const listen = authorizedKeyOptionValues(entry, 'permitlisten');
  if (open.length > 0) r.permitOpen = open;
  if (listen.length > 0) r.permitListen = listen;
  r.environment = Object.freeze(environment);
  return Object.freeze(r);
}

function environmentPermitted(name: string, permit: PermitUserEnvironment): boolean {
  if (typeof permit === 'boolean') return permit;
  return permit.some((p) => globMatch(name, p));
}

/** The restrictions a verified user certificate imposes: its force-command, verify-required and its extensions (absent ones are off). */
export function restrictionsFromCertificate(auth: CertificateAuthorization): Restrictions {
  return Object.freeze({
    ...UNRESTRICTED,
    command: auth.forceCommand,
    pty: auth.permitPty,
    portForwarding: auth.permitPortForwarding,
    agentForwarding: auth.permitAgentForwarding,
    x11Forwarding: auth.permitX11Forwarding,
    userRc: auth.permitUserRc,
    verifyRequired: auth.verifyRequired,
    noTouchRequired: auth.noTouchRequired,
  });
}

/**
 * Both sets of restrictions at once (an authorized_keys `cert-authority` line
 * and the certificate it accepted): every flag must allow, lists intersect
 * by keeping the stricter (the one given). Two different forced commands
 * cannot both hold, and sshd refuses such a login: so does this (a string
 * saying why comes back instead).
 */
export function combineRestrictions(a: Restrictions, b: Restrictions): Restrictions | string {
  if (a.command !== null && b.command !== null && a.command !== b.command) return 'the key options and the certificate force different commands';
  const list = (x: readonly string[] | null, y: readonly string[] | null) => (x === null ? y : y === null ? x : x.filter((e) => y.includes(e)));
  return Object.freeze({
    command: a.command ?? b.command,
    environment: Object.freeze({ ...b.environment, ...a.environment }),
    pty: a.pty && b.pty,
    portForwarding: a.portForwarding && b.portForwarding,
    agentForwarding: a.agentForwarding && b.agentForwarding,
    x11Forwarding: a.x11Forwarding && b.x11Forwarding,
    userRc: a.userRc && b.userRc,
    permitOpen: list(a.permitOpen, b.permitOpen),
    permitListen: list(a.permitListen, b.permitListen),
    verifyRequired: a.verifyRequired || b.verifyRequired,
    noTouchRequired: a.noTouchRequired && b.noTouchRequired,
  });
}

/** `host:port` or `[v6]:port` split at the last colon outside brackets; host unbracketed. */
function splitHostPort(spec: string): { host: string; port: string } | null {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):([^:]+)$/.exec(spec);
  if (!m) return null;
  return { host: m[1] ?? m[2] ?? '', port: m[3]! };
}

/**
 * Whether `ssh -L` may connect to host:port: port forwarding on, and, when
 * `permitOpen` is set, one entry names that host (literally, as sshd: no
 * name lookup; `*` any host) and port (`*` any port).
 */
export function permitsLocalForward(r: Restrictions, host: string, port: number): boolean {
  if (!r.portForwarding) return false;
  if (r.permitOpen === null) return true;
  const want = host.toLowerCase();
  return r.permitOpen.some((spec) => {
    const hp = splitHostPort(spec);
    if (!hp) return false;
    return (hp.port === '*' || Number(hp.port) === port) && (hp.host === '*' || hp.host.toLowerCase() === want);
  });
}

/**
 * Whether `ssh -R` may listen on bindAddress:port: port forwarding on, and,
 * when `permitListen` is set, one entry's port is that port (`*` any; a
 * request for port 0 needs `*`) and its host pattern matches the address
 * (a bare port allows any address, as sshd reads it as `*:port`).
 */
export function permitsRemoteForward(r: Restrictions, bindAddress: string, port: number): boolean {
  if (!r.portForwarding) return false;
  if (r.permitListen === null) return true;
  const want = bindAddress.toLowerCase();
  return r.permitListen.some((spec) => {
    const hp = /^\d+$|^\*$/.test(spec) ? { host: '*', port: spec } : splitHostPort(spec);
    if (!hp) return false;
    return (hp.port === '*' || Number(hp.port) === port) && globMatch(want, hp.host.toLowerCase());
  });
}

/** Streamlocal (Unix socket) forwarding: sshd ties it to the port-forwarding flag. */
export function permitsStreamlocalForward(r: Restrictions): boolean {
  return r.portForwarding;
}

/** Address patterns longer than this are refused outright (a `from=` list is a line of a file). */
const MAX_PATTERN_LIST = 8192;

/**
 * sshd's `from=` test (match_host_and_ip without DNS): the comma-separated
 * list holds glob patterns (`*`, `?`) and CIDR blocks, each possibly negated
 * with `!`; the address must match a positive entry and no negated one. An
 * IPv4-mapped IPv6 peer address is matched as its IPv4 address.
 */
export function addressMatchesPatterns(address: string | undefined, patterns: string): boolean {
  if (address === undefined || patterns.length > MAX_PATTERN_LIST) return false;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  const addr = (mapped ? mapped[1]! : address).toLowerCase();
  const isAddress = parseAddress(addr) !== null;
  let positive = false;
  for (const raw of patterns.split(',')) {
    const negated = raw.startsWith('!');
    const pattern = (negated ? raw.slice(1) : raw).toLowerCase();
    if (pattern === '') continue;
    const cidr = pattern.includes('/') && parseCidrList(pattern) !== null;
    const match = cidr ? isAddress && addressInCidrList(addr, pattern) === true : globMatch(addr, pattern);
    if (match && negated) return false;
    if (match) positive = true;
  }
  return positive;
}


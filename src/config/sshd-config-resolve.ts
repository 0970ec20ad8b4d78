// The settings for one connection, as sshd computes them: first the global
// section (the command line, then the file; the first value of a keyword
// wins, a few keywords add up), then the Match blocks that apply to the
// connection, read as a second pass whose values (first one wins among
// them) replace the global ones; then sshd's defaults for what is still
// unset. Without a connection only `Match all` blocks apply (as `sshd -T`
// without -C).
import { parseSshdConfig, type SshdConfig, type SshdConfigEntry, type AlgorithmSetting, type SshdParseOptions } from './sshd-config-parse.js';
import type { PenaltyItem, SshdKeywordName, SshdLineValues } from './sshd-config-values.js';
import { matchLineApplies, matchesAlways } from './sshd-config-match.js';
import { defaultAlgorithms } from './sshd-config-algorithms.js';
import { parseAddress } from '../keys/address-match.js';
import { SshdConfigError, type SshdConfigIO, type SshdMatchSpec, SshdPerSourcePenalties, SshdSettings, SshdListenAddress } from './sshd-config-types.js';

type Values = Map<SshdKeywordName, unknown>;

/** Keywords whose lines add up rather than the first one winning. */
const ACCUMULATE = new Set<SshdKeywordName>(['port', 'hostkey', 'hostcertificate', 'listenaddress', 'acceptenv', 'allowusers', 'denyusers', 'allowgroups', 'denygroups']);
/** Keywords where sshd keeps the last line (it overwrites without checking). */
const LAST_WINS = new Set<SshdKeywordName>(['persourcenetblocksize']);

/** What a Match block can change (servconf.c's copy_set_server_options, for the keywords nacred supports). */
const MATCH_COPIED = new Set<SshdKeywordName>([
  'passwordauthentication', 'pubkeyauthentication', 'kbdinteractiveauthentication', 'permitrootlogin',
  'allowtcpforwarding', 'allowstreamlocalforwarding', 'allowagentforwarding', 'disableforwarding', 'gatewayports',
  'permittty', 'permituserrc', 'maxsessions', 'maxauthtries', 'clientalivecountmax', 'clientaliveinterval', 'loglevel', 'refuseconnection',
  'banner', 'trustedusercakeys', 'revokedkeys', 'authorizedprincipalsfile', 'pubkeyacceptedalgorithms',
  'casignaturealgorithms', 'requiredrsasize', 'pubkeyauthoptions',
  'authorizedkeysfile', 'allowusers', 'denyusers', 'allowgroups', 'denygroups', 'acceptenv', 'setenv', 'authenticationmethods',
  'permitopen', 'permitlisten', 'forcecommand', 'subsystem', 'chrootdirectory',
]);

type PenaltyState = { -readonly [K in keyof SshdPerSourcePenalties]?: SshdPerSourcePenalties[K] };

function apply(values: Values, entry: SshdConfigEntry): void {
  const k = entry.keyword;
  const v: unknown = entry.value;
  if (ACCUMULATE.has(k)) {
    const list = (values.get(k) as unknown[] | undefined) ?? [];
    // A `HostKey none` line names no file but still counts (sshd then loads no default keys).
    values.set(k, Array.isArray(v) ? [...list, ...v] : v === null ? list : [...list, v]);
  } else if (k === 'maxstartups') {
    // Each line overwrites the last; a lone number keeps the rate an earlier line gave.
    const prev = values.get(k) as SshdLineValues['maxstartups'] | undefined;
    const m = v as SshdLineValues['maxstartups'];
    values.set(k, { begin: m.begin, rate: m.rate ?? prev?.rate, full: m.full });
  } else if (LAST_WINS.has(k)) {
    values.set(k, v);
  } else if (k === 'subsystem') {
    const map = (values.get(k) as Map<string, string> | undefined) ?? new Map<string, string>();
    const s = v as SshdLineValues['subsystem'];
    if (!map.has(s.name)) map.set(s.name, s.command); // a repeated name is ignored, as sshd does
    values.set(k, map);
  } else if (k === 'persourcepenalties') {
    const p = (values.get(k) as PenaltyState | undefined) ?? {};
    for (const item of v as readonly PenaltyItem[]) {
      if (item.field === 'enabled') {
        if (p.enabled === undefined) p.enabled = item.value;
      } else if ((p as Record<string, unknown>)[item.field] === undefined) {
        (p as Record<string, unknown>)[item.field] = item.value;
        p.enabled = true; // any field turns penalties on, as in sshd
      }
    }
    values.set(k, p);
  } else if (!values.has(k)) {
    values.set(k, v);
  }
}

/**
 * The effective settings for a connection described by `spec` (user,
 * groups, host, addr, laddr, lport); without `spec`, the global settings
 * (only `Match all` applies), as `sshd -T` without -C prints them. The
 * global settings are checked as sshd checks them at start-up
 * (AuthenticationMethods must be satisfiable, ListenAddress of the
 * AddressFamily), with SshdConfigError when they are not.
 */
export function resolveSshdConfig(config: SshdConfig, spec?: SshdMatchSpec): SshdSettings {
  const global: Values = new Map();
  for (const e of config.entries) if (e.conditions.every(matchesAlways)) apply(global, e);
  const matched: Values = new Map();
  for (const e of config.entries) {
    if (e.conditions.length > 0 && e.conditions.every((c) => matchLineApplies(c, spec ?? {}))) apply(matched, e);
  }
  // sshd checks its global settings (the first pass) at start-up, whatever the connection.
  const startup = fillDefaults(global);
  checkAuthenticationMethods(startup);
  checkListenAddresses(startup);
  if (matched.size === 0) return startup;
  for (const [k, v] of matched) if (MATCH_COPIED.has(k)) global.set(k, v);
  return fillDefaults(global);
}

/** As sshd at start-up: a ListenAddress of a family AddressFamily excludes cannot be listened on. */
function checkListenAddresses(s: SshdSettings): void {
  if (s.addressFamily === 'any') return;
  for (const la of s.listenAddresses) {
    const addr = parseAddress(la.host);
    if (addr !== null && (addr.length === 4) !== (s.addressFamily === 'inet')) {
      throw new SshdConfigError(`bad addr or host: ${la.host} (Address family for hostname not supported)`);
    }
  }
}

/**
 * As sshd at start-up: when AuthenticationMethods is set, at least one of
 * its lists must use only enabled methods, or nobody could log in.
 */
function checkAuthenticationMethods(s: SshdSettings): void {
  if (s.authenticationMethods.length === 0) return;
  const enabled = (method: string): boolean => {
    switch (method.split(':')[0]) {
      case 'none':
        return true;
      case 'publickey':
      case 'publickey-hostbound-v00@openssh.com':
        return s.pubkeyAuthentication;
      case 'password':
        return s.passwordAuthentication;
      case 'keyboard-interactive':
        return s.kbdInteractiveAuthentication;
      default:
        return false; // hostbased, gssapi-with-mic: never enabled in nacred
    }
  };
  if (!s.authenticationMethods.some((list) => list.every(enabled))) {
    throw new SshdConfigError('AuthenticationMethods cannot be satisfied by enabled authentication methods');
  }
}

function get<K extends SshdKeywordName>(values: Values, k: K): SshdLineValues[K] | undefined {
  return values.get(k) as SshdLineValues[K] | undefined;
}

function algorithms(values: Values, k: SshdKeywordName, kind: Parameters<typeof defaultAlgorithms>[0]): string[] {
  const s = values.get(k) as AlgorithmSetting | undefined;
  return s === undefined ? defaultAlgorithms(kind) : [...s.names];
}

/** Where sshd looks for host keys when none is configured. */
export const DEFAULT_HOST_KEYS: readonly string[] = ['/etc/ssh/ssh_host_rsa_key', '/etc/ssh/ssh_host_ecdsa_key', '/etc/ssh/ssh_host_ed25519_key'];
/** nacred's PidFile default (sshd's is /run/sshd.pid: the two must not share one). */
export const DEFAULT_PID_FILE = '/run/nacred.pid';
/** Nacre's PasswordFile default. */
export const DEFAULT_PASSWORD_FILE = '/etc/nacre/passwd';

function maxStartups(v: SshdLineValues['maxstartups'] | undefined): SshdSettings['maxStartups'] {
  return v === undefined ? { begin: 10, rate: 30, full: 100 } : { begin: v.begin, rate: v.rate ?? 30, full: v.full };
}

function fillDefaults(values: Values): SshdSettings {
  const g = <K extends SshdKeywordName>(k: K) => get(values, k);
  const pen = (g('persourcepenalties') as PenaltyState | undefined) ?? {};
  const overflow = pen.overflow ?? 'permissive';
  const listen = (g('listenaddress') as SshdListenAddress[] | undefined) ?? [];
  return {
    ports: (g('port') as number[] | undefined) ?? [22],
    listenAddresses: listen,
    addressFamily: g('addressfamily') ?? 'any',
    hostKeys: (g('hostkey') as string[] | undefined) ?? [...DEFAULT_HOST_KEYS],
    hostCertificates: (g('hostcertificate') as string[] | undefined) ?? [],
    hostKeyAlgorithms: algorithms(values, 'hostkeyalgorithms', 'hostkey'),
    kexAlgorithms: algorithms(values, 'kexalgorithms', 'kex'),
    ciphers: algorithms(values, 'ciphers', 'cipher'),
    macs: algorithms(values, 'macs', 'mac'),
    pubkeyAcceptedAlgorithms: algorithms(values, 'pubkeyacceptedalgorithms', 'pubkey'),
    caSignatureAlgorithms: algorithms(values, 'casignaturealgorithms', 'casig'),
    compression: g('compression') ?? true,
    permitRootLogin: g('permitrootlogin') ?? 'prohibit-password',
    pubkeyAuthentication: g('pubkeyauthentication') ?? true,
    requiredRsaSize: g('requiredrsasize') ?? 1024,
    pubkeyAuthOptions: g('pubkeyauthoptions') ?? { touchRequired: false, verifyRequired: false },
    passwordAuthentication: g('passwordauthentication') ?? true,
    kbdInteractiveAuthentication: g('kbdinteractiveauthentication') ?? true,
    authenticationMethods: g('authenticationmethods') ?? [],
    authorizedKeysFiles: g('authorizedkeysfile') ?? ['.ssh/authorized_keys', '.ssh/authorized_keys2'],
    authorizedPrincipalsFile: g('authorizedprincipalsfile') ?? null,
    trustedUserCAKeys: g('trustedusercakeys') ?? null,
    revokedKeys: g('revokedkeys') ?? null,
    strictModes: g('strictmodes') ?? true,
    maxAuthTries: g('maxauthtries') ?? 6,
    loginGraceTime: g('logingracetime') ?? 120,
    allowUsers: g('allowusers') ?? [],
    denyUsers: g('denyusers') ?? [],
    allowGroups: g('allowgroups') ?? [],
    denyGroups: g('denygroups') ?? [],
    passwordFile: g('passwordfile') ?? DEFAULT_PASSWORD_FILE,
    maxSessions: g('maxsessions') ?? 10,
    maxStartups: maxStartups(g('maxstartups')),
    perSourceMaxStartups: g('persourcemaxstartups') ?? Infinity,
    perSourceNetBlockSize: g('persourcenetblocksize') ?? { ipv4: 32, ipv6: 128 },
    perSourcePenalties: {
      enabled: pen.enabled ?? true,
      crash: pen.crash ?? 90,
      authfail: pen.authfail ?? 5,
      noauth: pen.noauth ?? 1,
      graceExceeded: pen.graceExceeded ?? 10,
      refuseConnection: pen.refuseConnection ?? 10,
      max: pen.max ?? 600,
      min: pen.min ?? 15,
      maxSources4: pen.maxSources4 ?? 65536,
      maxSources6: pen.maxSources6 ?? 65536,
      overflow,
      overflow6: pen.overflow6 ?? overflow,
    },
    perSourcePenaltyExemptList: g('persourcepenaltyexemptlist') ?? [],
    refuseConnection: g('refuseconnection') ?? false,
    clientAliveInterval: g('clientaliveinterval') ?? 0,
    clientAliveCountMax: g('clientalivecountmax') ?? 3,
    forceCommand: g('forcecommand') ?? null,
    permitTTY: g('permittty') ?? true,
    permitUserEnvironment: g('permituserenvironment') ?? false,
    acceptEnv: g('acceptenv') ?? [],
    setEnv: g('setenv') ?? [],
    subsystems: (values.get('subsystem') as Map<string, string> | undefined) ?? new Map(),
    banner: g('banner') ?? null,
    chrootDirectory: g('chrootdirectory') ?? null,
    printMotd: g('printmotd') ?? true,
    permitUserRC: g('permituserrc') ?? true,
    allowTcpForwarding: g('allowtcpforwarding') ?? 'yes',
    allowStreamLocalForwarding: g('allowstreamlocalforwarding') ?? 'yes',
    allowAgentForwarding: g('allowagentforwarding') ?? true,
    gatewayPorts: g('gatewayports') ?? 'no',
    permitOpen: g('permitopen') ?? 'any',
    permitListen: g('permitlisten') ?? 'any',
    disableForwarding: g('disableforwarding') ?? false,
    pidFile: values.has('pidfile') ? (g('pidfile') ?? null) : DEFAULT_PID_FILE,
    logLevel: g('loglevel') ?? 'INFO',
    syslogFacility: g('syslogfacility') ?? 'AUTH',
  };
}

/**
 * `nacred -t`'s configuration half: parses the file (and its includes) and
 * resolves the global settings, throwing SshdConfigError (file and line)
 * where sshd would refuse to start; returns the settings and the warnings.
 * Loading the host keys is the caller's part.
 */
export function checkSshdConfig(text: string, file: string, io: SshdConfigIO, options?: SshdParseOptions): { config: SshdConfig; settings: SshdSettings; warnings: readonly string[] } {
  const config = parseSshdConfig(text, file, io, options);
  const settings = resolveSshdConfig(config);
  return { config, settings, warnings: config.warnings };
}

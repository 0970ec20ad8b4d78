// The ssh_config keywords Nacre supports, each with how its arguments are
// read and checked (as ssh's readconf.c does), whether a later value adds to
// the earlier ones (IdentityFile, LocalForward, SendEnv ...) or the first one
// wins; and the OpenSSH keywords Nacre knows but does not implement, which
// give a warning instead of the "Bad configuration option" error a
// misspelled keyword gets.
import { tryParseForward, type ForwardSpec, type ForwardFlag } from './forward-spec.js';
import { parsePermitRemoteOpen } from './permit-remote-open.js';
// Names only: reading a config must not load the key exchanges and ciphers.
import { CIPHER_NAMES, HOST_KEY_NAMES, KEX_NAMES, MAC_NAMES, USER_KEY_NAMES } from '../algorithms/catalog.js';

/** A value's reading failed: the message, without the file and line (the caller adds them). */
export class ValueError extends Error {}

export type YesNoAsk = 'yes' | 'no' | 'ask';

/** The value each supported keyword holds once read (the keys are ssh's spellings). */
export interface KeywordValues {
  AddKeysToAgent: { readonly mode: 'yes' | 'no' | 'ask' | 'confirm'; readonly lifetime?: number };
  AddressFamily: 'any' | 'inet' | 'inet6';
  BatchMode: boolean;
  BindAddress: string;
  /** A `key type` list, `+`/`-`/`^` as for the other algorithm lists (see caSignatureAlgorithmList). */
  CASignatureAlgorithms: string;
  CertificateFile: string[];
  Ciphers: string;
  ClearAllForwardings: boolean;
  Compression: boolean;
  ConnectionAttempts: number;
  /** Seconds; null: none. */
  ConnectTimeout: number | null;
  ControlMaster: 'yes' | 'no' | 'ask' | 'auto' | 'autoask';
  ControlPath: string;
  /** false: no; true: yes (forever); a number: seconds. */
  ControlPersist: boolean | number;
  DynamicForward: ForwardSpec[];
  /** Whether the `~C` escape opens a command line (OpenSSH 10: default no). */
  EnableEscapeCommandline: boolean;
  /** One character, or 'none'. */
  EscapeChar: string;
  ExitOnForwardFailure: boolean;
  ForkAfterAuthentication: boolean;
  /** A boolean, or an agent socket path (tokens and ${VAR} expanded later). */
  ForwardAgent: boolean | string;
  GatewayPorts: boolean;
  GlobalKnownHostsFile: string[];
  HashKnownHosts: boolean;
  HostKeyAlgorithms: string;
  HostKeyAlias: string;
  HostName: string;
  IdentitiesOnly: boolean;
  IdentityAgent: string;
  IdentityFile: string[];
  IgnoreUnknown: string;
  KbdInteractiveAuthentication: boolean;
  KexAlgorithms: string;
  LocalForward: ForwardSpec[];
  LogLevel: 'QUIET' | 'FATAL' | 'ERROR' | 'INFO' | 'VERBOSE' | 'DEBUG1' | 'DEBUG2' | 'DEBUG3';
  MACs: string;
  /** Password and keyboard-interactive prompts before giving up; default 3. */
  NumberOfPasswordPrompts: number;
  PasswordAuthentication: boolean;
  /** Whether `!command` at the `~C` prompt runs a local command; default no. */
  PermitLocalCommand: boolean;
  /** `any`, `none`, or `host:port` entries (`*` for either), as written (see permit-remote-open.ts). */
  PermitRemoteOpen: string[];
  Port: number;
  PreferredAuthentications: string;
  ProxyCommand: string;
  ProxyJump: string;
  PubkeyAcceptedAlgorithms: string;
  PubkeyAuthentication: 'yes' | 'no' | 'unbound' | 'host-bound';
  /** Bytes (0: the cipher's default) and seconds (0: none). */
  RekeyLimit: { readonly bytes: number; readonly seconds: number };
  RemoteCommand: string;
  RemoteForward: ForwardSpec[];
  RequestTTY: 'yes' | 'no' | 'force' | 'auto';
  /** Bits an RSA host key (and a user key offered) must have at least; default 1024. */
  RequiredRSASize: number;
  RevokedHostKeys: string;
  SendEnv: string[];
  ServerAliveCountMax: number;
  ServerAliveInterval: number;
  SessionType: 'none' | 'subsystem' | 'default';
  SetEnv: string[];
  StdinNull: boolean;
  StrictHostKeyChecking: 'yes' | 'no' | 'ask' | 'accept-new';
  Tag: string;
  UpdateHostKeys: YesNoAsk;
  User: string;
  UserKnownHostsFile: string[];
  VisualHostKey: boolean;
  /** 'yes', 'no', or 'no-pq-kex' (the warnings switched off). */
  WarnWeakCrypto: string;
}

export type KeywordName = keyof KeywordValues;

export interface KeywordSpec<K extends KeywordName = KeywordName> {
  readonly name: K;
  /** Later values add to the list instead of being ignored. */
  readonly accumulates?: boolean;
  /** Reads the arguments (`rest`: the unsplit text, for commands). */
  readonly read: (args: readonly string[], rest: string) => KeywordValues[K];
}

function one(args: readonly string[]): string {
  if (args.length === 0 || args[0] === '') throw new ValueError('Missing argument.');
  if (args.length > 1) throw new ValueError(`garbage at end of line: "${args[1]}"`);
  return args[0]!;
}

function choice<T extends string>(table: Readonly<Record<string, T>>) {
  return (args: readonly string[]): T => {
    const a = one(args);
    const v = table[a.toLowerCase()];
    if (v === undefined) throw new ValueError(`unsupported option "${a}".`);
    return v;
  };
}

const FLAG = { yes: true, true: true, no: false, false: false } as const;
function flag(args: readonly string[]): boolean {
  const a = one(args);
  const v = (FLAG as Record<string, boolean>)[a.toLowerCase()];
  if (v === undefined) throw new ValueError(`unsupported option "${a}".`);
  return v;
}

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
/** ssh's convtime: `90`, `1h30m`, `2d` … in seconds; null when malformed. */
export function parseTime(s: string): number | null {
  if (!/^([0-9]+[sSmMhHdDwW]?)+$/.test(s)) return null;
  let total = 0;
  for (const m of s.matchAll(/([0-9]+)([sSmMhHdDwW]?)/g)) {
    total += Number(m[1]) * (m[2] ? UNITS[m[2].toLowerCase()]! : 1);
  }
  return total <= 2147483647 ? total : null;
}

function time(args: readonly string[]): number {
  const a = one(args);
  const t = parseTime(a);
  if (t === null) throw new ValueError('invalid time value.');
  return t;
}

function integer(args: readonly string[]): number {
  const a = one(args);
  if (!/^[0-9]{1,10}$/.test(a) || Number(a) > 2147483647) throw new ValueError(`Bad number '${a}'.`);
  return Number(a);
}

function text(args: readonly string[]): string {
  return one(args);
}

/** All arguments, at least one; `none` must appear alone. */
function list(args: readonly string[]): string[] {
  if (args.length === 0) throw new ValueError('Missing argument.');
  if (args.includes('')) throw new ValueError('empty argument');
  if (args.length > 1 && args.includes('none')) throw new ValueError('"none" argument must appear alone.');
  return [...args];
}

/**
 * An algorithm list: names, or `+`/`-`/`^` and names, comma-separated. Names
 * must be ones Nacre implements (ssh checks against its own too); a `-` list
 * may name others, and wildcards.
 */
function algorithms(kind: string, names: readonly string[]) {
  const known = new Set(names);
  return (args: readonly string[]): string => {
    const a = one(args);
    if (!/^[+^-]?[A-Za-z0-9@._*?!-]+(,[A-Za-z0-9@._*?!-]+)*$/.test(a)) throw new ValueError(`Bad ${kind} list '${a}'.`);
    if (a.startsWith('-')) return a;
    for (const name of a.replace(/^[+^]/, '').split(',')) if (!known.has(name)) throw new ValueError(`Bad ${kind} list '${a}': Nacre does not implement ${name}.`);
    return a;
  };
}

function forward(flag: ForwardFlag) {
  return (args: readonly string[]): ForwardSpec[] => {
    if (args.length === 0 || args[0] === '') throw new ValueError('Missing argument.');
    let spec: string;
    if (flag === 'dynamic' || (flag === 'remote' && args.length === 1)) {
      if (args.length > 1) throw new ValueError(`garbage at end of line: "${args[1]}"`);
      spec = args[0]!;
    } else {
      if (args.length < 2 || args[1] === '') throw new ValueError('Missing target argument.');
      if (args.length > 2) throw new ValueError(`garbage at end of line: "${args[2]}"`);
      spec = `${args[0]}:${args[1]}`;
    }
    const parsed = tryParseForward(spec, flag, {});
    // `${VAR}` in a spec is expanded when the spec is used; here it only has to be well formed.
    const checked = parsed ?? (spec.includes('${') ? tryParseForward(spec.replace(/\$\{[^}]*\}/g, '1'), flag, {}) : null);
    if (checked === null) throw new ValueError('Bad forwarding specification.');
    return [parsed ?? checked];
  };
}

const SIZE = /^([0-9]+)([KkMmGg]?)$/;
function rekeyLimit(args: readonly string[]): { bytes: number; seconds: number } {
  if (args.length === 0 || args.length > 2) throw new ValueError('Missing argument.');
  let bytes = 0;
  const a = args[0]!;
  if (a !== 'default' && a !== 'none') {
    const m = SIZE.exec(a);
    if (!m) throw new ValueError(`Bad number '${a}'.`);
    bytes = Number(m[1]) * ({ '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 } as Record<string, number>)[m[2]!.toLowerCase()]!;
    if (bytes !== 0 && bytes < 16) throw new ValueError('RekeyLimit too small');
  }
  let seconds = 0;
  const b = args[1];
  if (b !== undefined && b !== 'default' && b !== 'none') {
    const t = parseTime(b);
    if (t === null) throw new ValueError('invalid time value.');
    seconds = t;
  }
  return { bytes, seconds };
}

function escapeChar(args: readonly string[]): string {
  const a = one(args);
  if (a === 'none') return 'none';
  if (a.length === 1) return a;
  if (a.length === 2 && a[0] === '^') return String.fromCharCode(a.charCodeAt(1) & 31);
  throw new ValueError('Bad escape character.');
}

function controlPersist(args: readonly string[]): boolean | number {
  const a = one(args);
  const f = (FLAG as Record<string, boolean>)[a.toLowerCase()];
  if (f !== undefined) return f;
  const t = parseTime(a);
  if (t === null) throw new ValueError('Bad ControlPersist argument.');
  return t === 0 ? true : t;
}

function addKeysToAgent(args: readonly string[]): KeywordValues['AddKeysToAgent'] {
  if (args.length === 0 || args.length > 2) throw new ValueError('Missing argument.');
  const modes: Record<string, 'yes' | 'no' | 'ask' | 'confirm'> = { yes: 'yes', true: 'yes', no: 'no', false: 'no', ask: 'ask', confirm: 'confirm' };
  const first = args[0]!.toLowerCase();
  let mode = modes[first];
  let lifeArg = args[1];
  if (mode === undefined) {
    if (args.length > 1) throw new ValueError(`unsupported option "${args[0]}".`);
    mode = 'yes';
    lifeArg = args[0];
  } else if (lifeArg !== undefined && mode !== 'confirm') {
    throw new ValueError(`garbage at end of line: "${lifeArg}"`);
  }
  if (lifeArg === undefined) return { mode };
  const t = parseTime(lifeArg);
  if (t === null || t === 0) throw new ValueError(`invalid time value "${lifeArg}".`);
  return { mode, lifetime: t };
}

function forwardAgent(args: readonly string[]): boolean | string {
  const a = one(args);
  const f = (FLAG as Record<string, boolean>)[a.toLowerCase()];
  return f ?? a;
}

function setEnv(args: readonly string[]): string[] {
  if (args.length === 0) throw new ValueError('Missing argument.');
  for (const a of args) if (!/^[^=]+=/.test(a)) throw new ValueError('Invalid SetEnv.');
  return [...args];
}

function sendEnv(args: readonly string[]): string[] {
  if (args.length === 0) throw new ValueError('Missing argument.');
  for (const a of args) if (a === '' || a.includes('=')) throw new ValueError('Invalid environment name.');
  return [...args];
}

function port(args: readonly string[]): number {
  const a = one(args);
  const n = /^[0-9]{1,5}$/.test(a) ? Number(a) : -1;
  if (n <= 0 || n > 65535) throw new ValueError(`Bad port '${a}'.`);
  return n;
}

function command(_args: readonly string[], rest: string): string {
  if (rest === '') throw new ValueError('Missing argument.');
  return rest;
}

function proxyJump(args: readonly string[]): string {
  const a = one(args);
  if (a === 'none') return a;
  for (const hop of a.split(',')) {
    if (!/^(ssh:\/\/)?([^@/]+@)?(\[[0-9A-Fa-f:.]+\]|[^@:/\[\]]+)(:[0-9]{1,5})?\/?$/.test(hop)) throw new ValueError(`Invalid ProxyJump "${a}"`);
  }
  return a;
}

const LOG_LEVELS: Record<string, KeywordValues['LogLevel']> = {
  quiet: 'QUIET',
  fatal: 'FATAL',
  error: 'ERROR',
  info: 'INFO',
  verbose: 'VERBOSE',
  debug: 'DEBUG1',
  debug1: 'DEBUG1',
  debug2: 'DEBUG2',
  debug3: 'DEBUG3',
};

function warnWeakCrypto(args: readonly string[]): string {
  const a = one(args);
  if (!['yes', 'no', 'true', 'false', 'no-pq-kex'].includes(a.toLowerCase())) throw new ValueError(`unsupported option "${a}".`);
  return a.toLowerCase();
}

/**
 * The signature algorithms a CA may have used (ssh's list, which takes plain
 * key types only; Nacre verifies all but the security-key ones).
 */
const CA_SIGNATURE_NAMES: readonly string[] = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'sk-ssh-ed25519@openssh.com',
  'sk-ecdsa-sha2-nistp256@openssh.com',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'ssh-rsa',
];

function permitRemoteOpen(args: readonly string[]): string[] {
  try {
    parsePermitRemoteOpen(args);
  } catch (err) {
    throw new ValueError((err as Error).message);
  }
  return [...args];
}

function spec<K extends KeywordName>(name: K, read: KeywordSpec<K>['read'], accumulates = false): KeywordSpec<K> {
  return accumulates ? { name, read, accumulates } : { name, read };
}

const SPECS: KeywordSpec[] = [
  spec('AddKeysToAgent', addKeysToAgent),
  spec('AddressFamily', choice({ any: 'any', inet: 'inet', inet6: 'inet6' } as const)),
  spec('BatchMode', flag),
  spec('BindAddress', text),
  spec('CASignatureAlgorithms', algorithms('key type', CA_SIGNATURE_NAMES)),
  spec('CertificateFile', (a) => [one(a)], true),
  spec('Ciphers', algorithms('SSH2 cipher', CIPHER_NAMES)),
  spec('ClearAllForwardings', flag),
  spec('Compression', flag),
  spec('ConnectionAttempts', integer),
  spec('ConnectTimeout', (a) => (one(a).toLowerCase() === 'none' ? null : time(a))),
  spec('ControlMaster', choice({ yes: 'yes', true: 'yes', no: 'no', false: 'no', ask: 'ask', auto: 'auto', autoask: 'autoask' } as const)),
  spec('ControlPath', text),
  spec('ControlPersist', controlPersist),
  spec('DynamicForward', forward('dynamic'), true),
  spec('EnableEscapeCommandline', flag),
  spec('EscapeChar', escapeChar),
  spec('ExitOnForwardFailure', flag),
  spec('ForkAfterAuthentication', flag),
  spec('ForwardAgent', forwardAgent),
  spec('GatewayPorts', flag),
  spec('GlobalKnownHostsFile', list),
  spec('HashKnownHosts', flag),
  spec('HostKeyAlgorithms', algorithms('host key algorithm', HOST_KEY_NAMES)),
  spec('HostKeyAlias', text),
  spec('HostName', text),
  spec('IdentitiesOnly', flag),
  spec('IdentityAgent', text),
  spec('IdentityFile', (a) => [one(a)], true),
  spec('IgnoreUnknown', text),
  spec('KbdInteractiveAuthentication', flag),
  spec('KexAlgorithms', algorithms('SSH2 KexAlgorithms', KEX_NAMES)),
  spec('LocalForward', forward('local'), true),
  spec('LogLevel', choice(LOG_LEVELS)),
  spec('MACs', algorithms('SSH2 MAC', MAC_NAMES)),
  spec('NumberOfPasswordPrompts', integer),
  spec('PasswordAuthentication', flag),
  spec('PermitLocalCommand', flag),
  spec('PermitRemoteOpen', permitRemoteOpen),
  spec('Port', port),
  spec('PreferredAuthentications', text),
  spec('ProxyCommand', command),
  spec('ProxyJump', proxyJump),
  spec('PubkeyAcceptedAlgorithms', algorithms('key type', [...HOST_KEY_NAMES, ...USER_KEY_NAMES])),
  spec('PubkeyAuthentication', choice({ yes: 'yes', true: 'yes', no: 'no', false: 'no', unbound: 'unbound', 'host-bound': 'host-bound' } as const)),
  spec('RekeyLimit', rekeyLimit),
  spec('RemoteCommand', command),
  spec('RemoteForward', forward('remote'), true),
  spec('RequestTTY', choice({ yes: 'yes', true: 'yes', no: 'no', false: 'no', force: 'force', auto: 'auto' } as const)),
  spec('RequiredRSASize', integer),
  spec('RevokedHostKeys', text),
  spec('SendEnv', sendEnv, true),
  spec('ServerAliveCountMax', integer),
  spec('ServerAliveInterval', time),
  spec('SessionType', choice({ none: 'none', subsystem: 'subsystem', default: 'default' } as const)),
  // The first SetEnv line that applies wins as a whole (as ssh does); SendEnv lines add up.
  spec('SetEnv', setEnv),
  spec('StdinNull', flag),
  spec('StrictHostKeyChecking', choice({ yes: 'yes', true: 'yes', no: 'no', false: 'no', off: 'no', ask: 'ask', 'accept-new': 'accept-new' } as const)),
  spec('Tag', text),
  spec('UpdateHostKeys', choice({ yes: 'yes', true: 'yes', no: 'no', false: 'no', ask: 'ask' } as const)),
  spec('User', text),
  spec('UserKnownHostsFile', list),
  spec('VisualHostKey', flag),
  spec('WarnWeakCrypto', warnWeakCrypto),
] as KeywordSpec[];

/** Other spellings ssh accepts for the same keyword. */
const ALIASES: Record<string, KeywordName> = {
  challengeresponseauthentication: 'KbdInteractiveAuthentication',
  skeyauthentication: 'KbdInteractiveAuthentication',
  tisauthentication: 'KbdInteractiveAuthentication',
  pubkeyacceptedkeytypes: 'PubkeyAcceptedAlgorithms',
  identityfile2: 'IdentityFile',
};

/** Supported keywords by their lower-case spelling. */
export const KEYWORDS: ReadonlyMap<string, KeywordSpec> = new Map([
  ...SPECS.map((s) => [s.name.toLowerCase(), s] as const),
  ...Object.entries(ALIASES).map(([alias, name]) => [alias, SPECS.find((s) => s.name === name)!] as const),
]);

/** OpenSSH client keywords Nacre does not implement (a warning, not an error). */
export const UNSUPPORTED_KEYWORDS: ReadonlySet<string> = new Set(
  (
    'bindinterface canonicaldomains canonicalizefallbacklocal canonicalizehostname canonicalizemaxdots ' +
    'canonicalizepermittedcnames channeltimeout checkhostip ' +
    'enablesshkeysign fingerprinthash forwardx11 forwardx11timeout forwardx11trusted gssapiauthentication ' +
    'gssapidelegatecredentials gssapikeyexchange gssapitrustdns gssapiclientidentity gssapiserveridentity ' +
    'gssapirenewalforcesrekey gssapikexalgorithms hostbasedacceptedalgorithms hostbasedauthentication ' +
    'hostbasedkeytypes ipqos kbdinteractivedevices knownhostscommand localcommand logverbose syslogfacility ' +
    'nohostauthenticationforlocalhost obscurekeystroketiming ' +
    'pkcs11provider smartcarddevice proxyusefdpass securitykeyprovider ' +
    'streamlocalbindmask streamlocalbindunlink tcpkeepalive keepalive tunnel tunneldevice verifyhostkeydns ' +
    'versionaddendum xauthlocation dsaauthentication ' +
    // Removed from OpenSSH long ago; ssh itself only notes them.
    'protocol cipher rhostsrsaauthentication rsaauthentication compressionlevel useroaming useprivilegedport ' +
    'fallbacktorsh usersh rhostsauthentication globalknownhostsfile2 userknownhostsfile2 useblacklistedkeys ' +
    'afstokenpassing kerberosauthentication kerberostgtpassing protocolkeepalives setuptimeout'
  ).split(' '),
);

/**
 * Unsupported keywords and the values that ask for what Nacre does anyway
 * (`ForwardX11 no`, `GSSAPIAuthentication no` ...): such a line draws no warning,
 * since nothing the user asked for is left undone. Any other value still warns.
 */
export const VALUES_NACRE_HONOURS: ReadonlyMap<string, readonly string[]> = new Map(
  [
    'forwardx11', 'forwardx11trusted', 'gssapiauthentication', 'gssapidelegatecredentials', 'gssapikeyexchange',
    'gssapitrustdns', 'gssapirenewalforcesrekey', 'hostbasedauthentication', 'enablesshkeysign', 'checkhostip',
    'tunnel', 'verifyhostkeydns', 'proxyusefdpass', 'streamlocalbindunlink', 'nohostauthenticationforlocalhost',
    'rhostsrsaauthentication', 'rsaauthentication', 'rhostsauthentication', 'useprivilegedport', 'useroaming',
    'fallbacktorsh', 'usersh', 'kerberosauthentication', 'kerberostgtpassing', 'afstokenpassing', 'dsaauthentication',
  ].map((k) => [k, ['no', 'false']] as const),
);

// One supported sshd_config line's arguments turned into a typed value, with
// sshd's checks (servconf.c): a bad value is an error even inside a Match
// block that does not apply, as sshd checks every line at start-up.
import type { ConfigLine } from './ssh-config-lex.js';
import type { SshdListenAddress, SshdNetBlockSize, SshdPubkeyAuthOptions, SshdPermitList, SshdPermitRule, SshdLogLevel, SshdSyslogFacility } from './sshd-config-types.js';
import { validAlgorithmSpec, type AlgorithmKind } from './sshd-config-algorithms.js';
import { addressListValid } from './sshd-config-match.js';
import { INT_MAX, parsePort, parseTime, SshdValueError } from './sshd-config-numbers.js';

export { SshdValueError };

function fail(message: string): never {
  throw new SshdValueError(message);
}

/** One PerSourcePenalties item: a field set, or the whole feature on/off. */
export type PenaltyItem =
  | { readonly field: 'enabled'; readonly value: boolean }
  | { readonly field: PenaltyNumberField; readonly value: number }
  | { readonly field: 'overflow' | 'overflow6'; readonly value: 'deny-all' | 'permissive' };
export type PenaltyNumberField = 'crash' | 'authfail' | 'noauth' | 'graceExceeded' | 'refuseConnection' | 'max' | 'min' | 'maxSources4' | 'maxSources6';

/** The value each supported (canonical) keyword's line gives. */
export interface SshdLineValues {
  port: number;
  listenaddress: SshdListenAddress;
  addressfamily: 'any' | 'inet' | 'inet6';
  /** null for `none`: the line counts (no default keys then) but names no file, as sshd. */
  hostkey: string | null;
  hostcertificate: string | null;
  hostkeyalgorithms: string;
  kexalgorithms: string;
  ciphers: string;
  macs: string;
  pubkeyacceptedalgorithms: string;
  casignaturealgorithms: string;
  /** Bits; any number sshd takes (an RSA key under 1024 bits is refused whatever it says). */
  requiredrsasize: number;
  pubkeyauthoptions: SshdPubkeyAuthOptions;
  /** `yes` and `delayed` (the same since OpenSSH 7.4) are true. */
  compression: boolean;
  permitrootlogin: 'yes' | 'prohibit-password' | 'forced-commands-only' | 'no';
  pubkeyauthentication: boolean;
  passwordauthentication: boolean;
  kbdinteractiveauthentication: boolean;
  authenticationmethods: readonly (readonly string[])[];
  authorizedkeysfile: readonly string[];
  authorizedprincipalsfile: string | null;
  trustedusercakeys: string | null;
  revokedkeys: string | null;
  strictmodes: boolean;
  maxauthtries: number;
  maxsessions: number;
  /** `rate` absent: a single number, which leaves the rate as an earlier line set it (sshd's sscanf). */
  maxstartups: { readonly begin: number; readonly rate?: number; readonly full: number };
  persourcemaxstartups: number;
  persourcenetblocksize: SshdNetBlockSize;
  persourcepenalties: readonly PenaltyItem[];
  persourcepenaltyexemptlist: readonly string[];
  logingracetime: number;
  clientaliveinterval: number;
  clientalivecountmax: number;
  allowusers: readonly string[];
  denyusers: readonly string[];
  allowgroups: readonly string[];
  denygroups: readonly string[];
  forcecommand: string | null;
  permittty: boolean;
  permituserenvironment: boolean | readonly string[];
  acceptenv: readonly string[];
  setenv: readonly { readonly name: string; readonly value: string }[];
  allowtcpforwarding: 'yes' | 'no' | 'local' | 'remote';
  allowstreamlocalforwarding: 'yes' | 'no' | 'local' | 'remote';
  allowagentforwarding: boolean;
  gatewayports: 'yes' | 'no' | 'clientspecified';
  permitopen: SshdPermitList;
  permitlisten: SshdPermitList;
  disableforwarding: boolean;
  subsystem: { readonly name: string; readonly command: string };
  banner: string | null;
  chrootdirectory: string | null;
  printmotd: boolean;
  permituserrc: boolean;
  pidfile: string | null;
  loglevel: SshdLogLevel;
  syslogfacility: SshdSyslogFacility;
  refuseconnection: boolean;
  passwordfile: string;
}
export type SshdKeywordName = keyof SshdLineValues;


/** strtonum(s, 0, INT_MAX) as atoi_err uses it. */
function nonNegativeInt(keyword: string, s: string | undefined): number {
  if (s === undefined || s === '') fail(`${keyword} integer value missing.`);
  if (/^-\d+$/.test(s.trim())) fail(`${keyword} integer value too small.`);
  if (!/^[+]?\d+$/.test(s.trim())) fail(`${keyword} integer value invalid.`);
  const v = Number(s.trim());
  if (v > INT_MAX) fail(`${keyword} integer value too large.`);
  return v;
}

function time(keyword: string, s: string | undefined): number {
  if (s === undefined || s === '') fail('missing time value.');
  const t = parseTime(s);
  if (t === null) fail('invalid time value.');
  return t;
}

function multistate<T extends string>(arg: string | undefined, table: Readonly<Record<string, T>>): T {
  if (arg === undefined || arg === '') fail('missing argument.');
  const v = table[arg.toLowerCase()];
  if (v === undefined || !Object.hasOwn(table, arg.toLowerCase())) fail(`unsupported option "${arg}".`);
  return v;
}

const FLAG = { yes: 'yes', no: 'no' } as const;
const flag = (arg: string | undefined): boolean => multistate(arg, FLAG) === 'yes';
const FORWARDING = { yes: 'yes', all: 'yes', no: 'no', remote: 'remote', local: 'local' } as const;

/** `none` (any case for paths, as sshd's CLEAR_ON_NONE) → null. */
function pathOrNone(arg: string | undefined): string | null {
  if (arg === undefined || arg === '') fail('missing file name.');
  return arg.toLowerCase() === 'none' ? null : arg;
}

/** cleanhostname + hpdelim for `host:port` / `[v6]:port`; null host when unparseable. */
export function splitHostPort(s: string): { host: string; port: string | undefined } | null {
  if (s.startsWith('[')) {
    const close = s.indexOf(']');
    if (close < 0) return null;
    const host = s.slice(1, close);
    const rest = s.slice(close + 1);
    if (rest === '') return { host, port: undefined };
    if (!rest.startsWith(':')) return null;
    return { host, port: rest.slice(1) };
  }
  const colon = s.indexOf(':');
  if (colon < 0) return { host: s, port: undefined };
  if (colon === 0) return null;
  return { host: s.slice(0, colon), port: s.slice(colon + 1) };
}

function permitList(keyword: 'PermitOpen' | 'PermitListen', args: readonly string[]): SshdPermitList {
  const rules: SshdPermitRule[] = [];
  let special: 'any' | 'none' | undefined;
  for (const arg of args) {
    if (arg === 'any' || arg === 'none') {
      if (rules.length > 0 || special !== undefined) fail(`${arg} must appear alone on a ${keyword} line.`);
      special = arg;
      continue;
    }
    if (special !== undefined) {
      // sshd accepts entries after a leading any/none and keeps both; nacred refuses the ambiguity (docs/CLI.md).
      fail(`${special} must appear alone on a ${keyword} line.`);
    }
    let host: string;
    let port: string | undefined;
    if (keyword === 'PermitListen' && !arg.includes(':')) {
      host = '*';
      port = arg;
    } else {
      const hp = splitHostPort(arg);
      if (hp === null || hp.host === '') fail(`${keyword} missing host`);
      host = hp.host;
      port = hp.port;
    }
    if (port === undefined) fail(`${keyword} bad port number`);
    if (port === '*') {
      rules.push({ host, port: '*' });
      continue;
    }
    const p = parsePort(port);
    if (p <= 0) fail(`${keyword} bad port number`);
    rules.push({ host, port: p });
  }
  if (special !== undefined) return special;
  if (rules.length === 0) fail(`${keyword} missing argument.`);
  return rules;
}

function needOne(args: readonly string[], what = 'missing argument.'): string {
  const a = args[0];
  if (a === undefined || a === '') fail(what);
  return a;
}

const AUTH_METHODS = new Set(['none', 'publickey', 'publickey-hostbound-v00@openssh.com', 'gssapi-with-mic', 'password', 'keyboard-interactive', 'hostbased']);

const LOG_LEVELS: Readonly<Record<string, SshdLogLevel>> = {
  // SILENT: Debian's sshd takes it for QUIET (and prints it).
  quiet: 'QUIET', silent: 'QUIET', fatal: 'FATAL', error: 'ERROR', info: 'INFO', verbose: 'VERBOSE', debug: 'DEBUG', debug1: 'DEBUG', debug2: 'DEBUG2', debug3: 'DEBUG3',
};
const FACILITIES: Readonly<Record<string, SshdSyslogFacility>> = {
  daemon: 'DAEMON', user: 'USER', auth: 'AUTH', authpriv: 'AUTHPRIV',
  local0: 'LOCAL0', local1: 'LOCAL1', local2: 'LOCAL2', local3: 'LOCAL3', local4: 'LOCAL4', local5: 'LOCAL5', local6: 'LOCAL6', local7: 'LOCAL7',
};

/** sshd's argv_assemble: arguments joined by spaces, quoted where they hold blanks, with \ ' " escaped. */
export function assembleArguments(args: readonly string[]): string {
  return args
    .map((a) => {
      const escaped = a.replace(/[\\'"]/g, (c) => '\\' + c);
      return /[ \t]/.test(a) ? `"${escaped}"` : escaped;
    })
    .join(' ');
}

function algorithms(kind: AlgorithmKind, keyword: string, args: readonly string[]): string {
  const spec = needOne(args, `${keyword} missing argument.`);
  const bad = validAlgorithmSpec(kind, spec);
  if (bad !== null) fail(bad);
  return spec;
}

function penalties(args: readonly string[]): PenaltyItem[] {
  if (args.length === 0) fail('no PerSourcePenalties specified');
  const out: PenaltyItem[] = [];
  const numbered: Record<string, PenaltyNumberField> = {
    'crash:': 'crash', 'authfail:': 'authfail', 'noauth:': 'noauth', 'grace-exceeded:': 'graceExceeded',
    'refuseconnection:': 'refuseConnection', 'max:': 'max', 'min:': 'min',
  };
  args.forEach((arg, i) => {
    const low = arg.toLowerCase();
    if (low === 'yes' || low === 'no') {
      if (i !== args.length - 1) fail(`keyword PerSourcePenalties "${arg}" argument must appear alone.`);
      out.push({ field: 'enabled', value: low === 'yes' });
      return;
    }
    for (const [prefix, field] of Object.entries(numbered)) {
      if (arg.startsWith(prefix)) {
        const t = parseTime(arg.slice(prefix.length));
        if (t === null) fail('invalid PerSourcePenalties time value.');
        out.push({ field, value: t });
        return;
      }
    }
    for (const [prefix, field] of [['max-sources4:', 'maxSources4'], ['max-sources6:', 'maxSources6']] as const) {
      if (arg.startsWith(prefix)) {
        const rest = arg.slice(prefix.length);
        if (rest === '') fail('PerSourcePenalties value missing.');
        if (!/^\d+$/.test(rest)) fail('PerSourcePenalties value invalid.');
        if (Number(rest) > INT_MAX) fail('PerSourcePenalties value too large.');
        out.push({ field, value: Number(rest) });
        return;
      }
    }
    const overflow = /^(overflow6?):(deny-all|permissive)$/.exec(arg);
    if (overflow) {
      out.push({ field: overflow[1] as 'overflow' | 'overflow6', value: overflow[2] as 'deny-all' | 'permissive' });
      return;
    }
    fail(`unsupported PerSourcePenalties keyword ${arg}`);
  });
  return out;
}

/**
 * Parses one line of a supported keyword (canonical name). Returns the value
 * and how many arguments it used (the rest are "extra arguments", an error).
 */
export function parseKeywordValue(keyword: SshdKeywordName, line: ConfigLine): { value: SshdLineValues[SshdKeywordName]; used: number } {
  const args = line.args;
  const a0 = args[0];
  const one = <T>(value: T) => ({ value: value as SshdLineValues[SshdKeywordName], used: 1 });
  const all = <T>(value: T) => ({ value: value as SshdLineValues[SshdKeywordName], used: args.length });
  switch (keyword) {
    case 'port': {
      const p = parsePort(needOne(args, 'missing port number.'));
      if (p <= 0) fail('Badly formatted port number.');
      return one(p);
    }
    case 'listenaddress': {
      const arg = needOne(args, 'missing address');
      let la: SshdListenAddress;
      const firstColon = arg.indexOf(':');
      if (!arg.includes('[') && firstColon >= 0 && arg.indexOf(':', firstColon + 1) >= 0) {
        la = { host: arg };
      } else {
        const hp = splitHostPort(arg);
        if (hp === null) fail('bad address:port usage');
        if (hp.port === undefined) la = { host: hp.host };
        else {
          const p = parsePort(hp.port);
          if (p <= 0) fail('bad port number');
          la = { host: hp.host, port: p };
        }
      }
      if (args.length > 1) fail('bad ListenAddress syntax');
      return one(la);
    }
    case 'addressfamily':
      return one(multistate(a0, { any: 'any', inet: 'inet', inet6: 'inet6' } as const));
    case 'hostkey':
    case 'hostcertificate':
      return one(pathOrNone(a0));
    case 'hostkeyalgorithms':
      return one(algorithms('hostkey', 'HostKeyAlgorithms', args));
    case 'pubkeyacceptedalgorithms':
      return one(algorithms('pubkey', 'PubkeyAcceptedAlgorithms', args));
    case 'kexalgorithms':
      return one(algorithms('kex', 'KexAlgorithms', args));
    case 'casignaturealgorithms':
      return one(algorithms('casig', 'CASignatureAlgorithms', args));
    case 'requiredrsasize':
      return one(nonNegativeInt('RequiredRSASize', a0));
    case 'compression':
      return one(multistate(a0, { yes: 'yes', delayed: 'yes', no: 'no' } as const) === 'yes');
    case 'pubkeyauthoptions': {
      if (args.length === 0) fail('missing argument.');
      let touchRequired = false;
      let verifyRequired = false;
      for (const arg of args) {
        const low = arg.toLowerCase();
        if (low === 'none') continue;
        if (low === 'touch-required') touchRequired = true;
        else if (low === 'verify-required') verifyRequired = true;
        else fail(`unsupported PubkeyAuthOptions option ${arg}`);
      }
      return all({ touchRequired, verifyRequired });
    }
    case 'ciphers':
      return one(algorithms('cipher', 'Ciphers', args));
    case 'macs':
      return one(algorithms('mac', 'MACs', args));
    case 'permitrootlogin':
      return one(
        multistate(a0, {
          'without-password': 'prohibit-password', 'prohibit-password': 'prohibit-password', 'forced-commands-only': 'forced-commands-only', yes: 'yes', no: 'no',
        } as const),
      );
    case 'pubkeyauthentication':
    case 'passwordauthentication':
    case 'kbdinteractiveauthentication':
    case 'strictmodes':
    case 'permittty':
    case 'allowagentforwarding':
    case 'disableforwarding':
    case 'printmotd':
    case 'permituserrc':
    case 'refuseconnection':
      return one(flag(a0));
    case 'authenticationmethods': {
      const lists: string[][] = [];
      let any = false;
      for (const arg of args) {
        if (arg === 'any') {
          if (lists.length > 0) fail('"any" must appear alone in AuthenticationMethods');
          any = true;
          continue;
        }
        if (any) fail('"any" must appear alone in AuthenticationMethods');
        if (arg === '') fail('invalid AuthenticationMethods method list.');
        const methods = arg.split(',');
        for (const m of methods) if (!AUTH_METHODS.has(m.split(':')[0]!)) fail('invalid AuthenticationMethods method list.');
        lists.push(methods);
      }
      return all(lists);
    }
    case 'authorizedkeysfile': {
      for (const a of args) if (a === '') fail('keyword AuthorizedKeysFile empty argument');
      // `none` alone means no file (sshd keeps the word and finds no such file).
      return all(args.length === 1 && args[0]!.toLowerCase() === 'none' ? [] : [...args]);
    }
    case 'authorizedprincipalsfile':
    case 'trustedusercakeys':
    case 'revokedkeys':
    case 'banner':
    case 'pidfile':
      return one(pathOrNone(a0));
    case 'chrootdirectory':
      if (a0 === undefined || a0 === '') fail('ChrootDirectory missing argument.');
      return one(a0.toLowerCase() === 'none' ? null : a0);
    case 'passwordfile':
      return one(needOne(args, 'missing file name.'));
    case 'maxauthtries':
      return one(nonNegativeInt('MaxAuthTries', a0));
    case 'maxsessions':
      return one(nonNegativeInt('MaxSessions', a0));
    case 'clientalivecountmax':
      return one(nonNegativeInt('ClientAliveCountMax', a0));
    case 'logingracetime':
      return one(time('LoginGraceTime', a0));
    case 'clientaliveinterval':
      return one(time('ClientAliveInterval', a0));
    case 'maxstartups': {
      const spec = needOne(args, 'MaxStartups missing argument.');
      const m = /^(\d+)(?::(\d+):(\d+))?$/.exec(spec);
      if (!m) fail('Invalid MaxStartups spec.');
      const begin = Number(m[1]);
      const rate = m[2] === undefined ? 100 : Number(m[2]);
      const full = m[3] === undefined ? begin : Number(m[3]);
      if (begin > INT_MAX || full > INT_MAX) fail('Invalid MaxStartups spec.');
      if (m[2] !== undefined && (begin > full || rate > 100 || rate < 1)) fail('Invalid MaxStartups spec.');
      if (full <= 0 || begin <= 0) fail('Invalid MaxStartups spec.');
      return one(m[2] === undefined ? { begin, full } : { begin, rate, full });
    }
    case 'persourcemaxstartups': {
      const arg = needOne(args, 'PerSourceMaxStartups missing argument.');
      return one(arg === 'none' ? Infinity : nonNegativeInt('PerSourceMaxStartups', arg));
    }
    case 'persourcenetblocksize': {
      const arg = needOne(args, 'PerSourceNetBlockSize missing argument.');
      const m = /^(\d+)(?::(\d+))?$/.exec(arg);
      if (!m || Number(m[1]) > 32 || (m[2] !== undefined && Number(m[2]) > 128)) fail('Invalid PerSourceNetBlockSize spec.');
      // With one number sshd leaves the IPv6 size at its default.
      return one({ ipv4: Number(m[1]), ipv6: m[2] === undefined ? 128 : Number(m[2]) });
    }
    case 'persourcepenalties':
      return all(penalties(args));
    case 'persourcepenaltyexemptlist': {
      const arg = needOne(args);
      if (!addressListValid(arg)) fail('keyword PerSourcePenaltyExemptList invalid address argument.');
      return one(arg.toLowerCase() === 'none' ? [] : arg.split(','));
    }
    case 'allowusers':
    case 'denyusers':
    case 'allowgroups':
    case 'denygroups': {
      const name = { allowusers: 'AllowUsers', denyusers: 'DenyUsers', allowgroups: 'AllowGroups', denygroups: 'DenyGroups' }[keyword];
      if (args.length === 0) fail(`no ${name} specified`);
      for (const a of args) {
        if (a === '') fail(keyword.endsWith('groups') ? `empty ${name} pattern` : `invalid ${name} pattern: "${a}"`);
        // sshd checks the host part of user@host (after the last @) as an address list.
        if (keyword.endsWith('users') && a.includes('@') && !addressListValid(a.slice(a.lastIndexOf('@') + 1))) {
          fail(`invalid ${name} pattern: "${a}"`);
        }
      }
      return all([...args]);
    }
    case 'forcecommand': {
      const rest = line.rest.replace(/^[ \t]+/, '');
      return all(rest.toLowerCase() === 'none' ? null : rest);
    }
    case 'permituserenvironment': {
      const arg = needOne(args, 'PermitUserEnvironment missing argument.');
      return one(arg === 'yes' ? true : arg === 'no' ? false : arg.split(','));
    }
    case 'acceptenv': {
      if (args.length === 0) fail('no AcceptEnv specified');
      for (const a of args) if (a === '' || a.includes('=')) fail('Invalid environment name.');
      return all([...args]);
    }
    case 'setenv': {
      const out: { name: string; value: string }[] = [];
      for (const a of args) {
        const eq = a.indexOf('=');
        if (a === '' || eq < 0) fail('Invalid environment.');
        const name = a.slice(0, eq);
        if (out.some((e) => e.name === name)) continue;
        out.push({ name, value: a.slice(eq + 1) });
      }
      if (out.length === 0) fail('no SetEnv specified');
      return all(out);
    }
    case 'allowtcpforwarding':
    case 'allowstreamlocalforwarding':
      return one(multistate(a0, FORWARDING));
    case 'gatewayports':
      return one(multistate(a0, { clientspecified: 'clientspecified', yes: 'yes', no: 'no' } as const));
    case 'permitopen':
      return all(permitList('PermitOpen', args));
    case 'permitlisten':
      return all(permitList('PermitListen', args));
    case 'subsystem': {
      const name = needOne(args, 'Subsystem missing argument.');
      const cmd = args[1];
      if (cmd === undefined || cmd === '') fail('Missing subsystem command.');
      return all({ name, command: assembleArguments(args.slice(1)) });
    }
    case 'loglevel': {
      const v = a0 === undefined ? undefined : LOG_LEVELS[a0.toLowerCase()];
      if (v === undefined || !Object.hasOwn(LOG_LEVELS, a0!.toLowerCase())) fail(`unsupported log level '${a0 ?? '<NONE>'}'`);
      return one(v);
    }
    case 'syslogfacility': {
      const v = a0 === undefined ? undefined : FACILITIES[a0.toLowerCase()];
      if (v === undefined || !Object.hasOwn(FACILITIES, a0!.toLowerCase())) fail(`unsupported log facility '${a0 ?? '<NONE>'}'`);
      return one(v);
    }
  }
}

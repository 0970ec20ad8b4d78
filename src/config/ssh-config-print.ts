// `nacre -G`: the resolved options in `ssh -G`'s format (lower-case keyword,
// a space, the value; ssh's order; defaults filled in), for the keywords
// Nacre supports. Where ssh prints its own defaults (algorithm lists,
// identity files), Nacre's are printed: what Nacre would use.
import { defaultAlgorithmLists, resolvePreference } from '../algorithms/index.js';
import { hostCertificateAlgorithms, userKeyAlgorithms } from '../algorithms/hostkey.js';
import { DEFAULT_CA_SIGNATURE_ALGORITHMS } from '../keys/certificate-verify.js';
import { globMatch } from '../wire/glob.js';
import type { ForwardEndpoint, ForwardSpec } from './forward-spec.js';
import { printEndpoint } from './forward-spec.js';
import type { KeywordValues } from './ssh-config-keywords.js';
import type { SshConfig } from './ssh-config-resolve.js';
import { expandConfigPath, expandEnvironment, expandTilde, expandTokens, type TokenValues } from './ssh-config-tokens.js';

/** Identity files tried when none is configured, in ssh's order (ssh's id_xmss is left out: Nacre has no XMSS). */
export const DEFAULT_IDENTITY_FILES: readonly string[] = ['~/.ssh/id_rsa', '~/.ssh/id_ecdsa', '~/.ssh/id_ecdsa_sk', '~/.ssh/id_ed25519', '~/.ssh/id_ed25519_sk'];
export const DEFAULT_USER_KNOWN_HOSTS: readonly string[] = ['~/.ssh/known_hosts', '~/.ssh/known_hosts2'];
export const DEFAULT_GLOBAL_KNOWN_HOSTS: readonly string[] = ['/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2'];

type Env = Readonly<Record<string, string | undefined>>;

const yn = (b: boolean | undefined, dflt: boolean) => ((b ?? dflt) ? 'yes' : 'no');
/** ssh prints its multi-state options' yes/no as true/false. */
const tf = (s: string) => (s === 'yes' ? 'true' : s === 'no' ? 'false' : s);

// Beside the tokens it expands, so that finding a ControlPath loads no printer.
export { expandConfigPath };

function expandEndpoint(e: ForwardEndpoint, keyword: string, tokens: TokenValues, env: Env): ForwardEndpoint {
  return e.kind === 'unix' ? { kind: 'unix', path: expandTokens(expandEnvironment(e.path, keyword, env), keyword, tokens) } : e;
}

/** A forwarding with its socket paths' tokens and `${VAR}` expanded, as ssh does before using it. */
export function expandForward(spec: ForwardSpec, keyword: 'LocalForward' | 'RemoteForward' | 'DynamicForward', tokens: TokenValues, env: Env): ForwardSpec {
  const listen = expandEndpoint(spec.listen, keyword, tokens, env);
  return spec.type === 'local' || spec.type === 'remote' ? { type: spec.type, listen, connect: expandEndpoint(spec.connect, keyword, tokens, env) } : { type: spec.type, listen };
}

/** The config's forwardings (-L/LocalForward, -R/RemoteForward, -D/DynamicForward), paths expanded, ready to start; none with ClearAllForwardings. */
export function configForwards(config: SshConfig, env: Env = {}): { readonly local: ForwardSpec[]; readonly remote: ForwardSpec[]; readonly dynamic: ForwardSpec[] } {
  const v = config.values;
  if (v.ClearAllForwardings === true) return { local: [], remote: [], dynamic: [] };
  const t = config.tokens;
  return {
    local: (v.LocalForward ?? []).map((s) => expandForward(s, 'LocalForward', t, env)),
    remote: (v.RemoteForward ?? []).map((s) => expandForward(s, 'RemoteForward', t, env)),
    dynamic: (v.DynamicForward ?? []).map((s) => expandForward(s, 'DynamicForward', t, env)),
  };
}

/** UpdateHostKeys when unset: yes unless UserKnownHostsFile names other files than ~/.ssh/known_hosts (as ssh decides). */
export function defaultUpdateHostKeys(v: Partial<KeywordValues>): 'yes' | 'no' {
  const files = v.UserKnownHostsFile;
  return files === undefined || (files.length === 1 && files[0] === '~/.ssh/known_hosts') ? 'yes' : 'no';
}

/**
 * CASignatureAlgorithms as a list: Nacre's default (OpenSSH's, less the
 * security-key algorithms it cannot verify), or the value: a list, or `+`
 * (appended), `^` (put first) or `-` (removed; wildcards allowed) applied to the default.
 */
export function caSignatureAlgorithmList(value: string | undefined): string[] {
  const defaults = [...DEFAULT_CA_SIGNATURE_ALGORITHMS];
  if (value === undefined) return defaults;
  const mod = value[0];
  const names = (mod === '+' || mod === '-' || mod === '^' ? value.slice(1) : value).split(',').filter(Boolean);
  if (mod === '-') return defaults.filter((d) => !names.some((n) => globMatch(d, n)));
  if (mod === '+') return [...defaults, ...names.filter((n) => !defaults.includes(n))];
  if (mod === '^') return [...names, ...defaults.filter((d) => !names.includes(d))];
  return names;
}

function forwardLines(keyword: 'dynamicforward' | 'localforward' | 'remoteforward', specs: readonly ForwardSpec[]): string[] {
  return specs.map((s) => {
    if (s.type === 'local' || s.type === 'remote') return `${keyword} ${printEndpoint(s.listen)} ${printEndpoint(s.connect)}`;
    return s.type === 'dynamic' ? `${keyword} ${printEndpoint(s.listen)}` : `${keyword} ${printEndpoint(s.listen)} [socks]:0`;
  });
}

/** One `[user@]host[:port]` or `ssh://` jump hop, split; null when it does not parse. */
export function parseJumpHop(hop: string): { readonly user?: string; readonly host: string; readonly port?: number } | null {
  const m = /^(?:ssh:\/\/)?(?:([^@]*)@)?(\[[^\]]*\]|[^:/]*)(?::([0-9]+))?\/?$/.exec(hop);
  if (!m) return null;
  const host = m[2]!.replace(/^\[|\]$/g, '');
  return { ...(m[1] !== undefined ? { user: m[1] } : {}), host, ...(m[3] !== undefined ? { port: Number(m[3]) } : {}) };
}

/** ProxyJump as ssh -G prints it: the hops before the last as written, then the last one rewritten (numeric hosts in brackets). */
export function printProxyJump(jump: string): string | null {
  if (jump === 'none') return null;
  const cut = jump.lastIndexOf(',');
  const last = parseJumpHop(cut < 0 ? jump : jump.slice(cut + 1));
  if (!last) return jump;
  const numeric = last.host.includes(':') || /^[0-9.]*$/.test(last.host);
  const hop = `${last.user !== undefined ? `${last.user}@` : ''}${numeric ? `[${last.host}]` : last.host}${last.port !== undefined ? `:${last.port}` : ''}`;
  return cut < 0 ? hop : `${jump.slice(0, cut)},${hop}`;
}

function escapeCharText(c: string): string {
  if (c === 'none') return 'none';
  const code = c.charCodeAt(0);
  if (code < 32) return `\\^${String.fromCharCode(code + 64)}`;
  if (code === 127) return '\\^?';
  return c;
}

function controlPersistText(p: boolean | number | undefined): string {
  if (p === undefined || p === false) return 'no';
  return p === true ? 'yes' : String(p);
}

/** `ssh -G`'s output for `config` (lines ending in "\n"). `env` expands `${VAR}` as ssh does. */
export function printSshConfig(config: SshConfig, env: Readonly<Record<string, string | undefined>> = {}): string {
  const v = config.values;
  const t = config.tokens;
  const path = (value: string, keyword: string) => expandConfigPath(value, keyword, t, env);
  const algs = defaultAlgorithmLists({
    ...(v.Ciphers !== undefined ? { cipher: v.Ciphers } : {}),
    ...(v.HostKeyAlgorithms !== undefined ? { hostKey: v.HostKeyAlgorithms } : {}),
    ...(v.KexAlgorithms !== undefined ? { kex: v.KexAlgorithms } : {}),
    ...(v.MACs !== undefined ? { mac: v.MACs } : {}),
  });
  const pubkey = resolvePreference('public key', [...hostCertificateAlgorithms, ...userKeyAlgorithms], v.PubkeyAcceptedAlgorithms);
  const out: string[] = [
    `host ${config.host}`,
    `user ${config.user}`,
    `hostname ${config.hostName}`,
    `port ${config.port}`,
    `addressfamily ${v.AddressFamily ?? 'any'}`,
    `batchmode ${yn(v.BatchMode, false)}`,
    `compression ${yn(v.Compression, false)}`,
    `controlmaster ${tf(v.ControlMaster ?? 'no')}`,
    `clearallforwardings ${yn(v.ClearAllForwardings, false)}`,
    `exitonforwardfailure ${yn(v.ExitOnForwardFailure, false)}`,
    `gatewayports ${yn(v.GatewayPorts, false)}`,
    `hashknownhosts ${yn(v.HashKnownHosts, false)}`,
    `identitiesonly ${yn(v.IdentitiesOnly, false)}`,
    `kbdinteractiveauthentication ${yn(v.KbdInteractiveAuthentication, true)}`,
    `passwordauthentication ${yn(v.PasswordAuthentication, true)}`,
    `permitlocalcommand ${yn(v.PermitLocalCommand, false)}`,
    `pubkeyauthentication ${tf(v.PubkeyAuthentication === 'host-bound' ? 'yes' : (v.PubkeyAuthentication ?? 'yes'))}`,
    `requesttty ${tf(v.RequestTTY ?? 'auto')}`,
    `sessiontype ${v.SessionType ?? 'default'}`,
    `stdinnull ${yn(v.StdinNull, false)}`,
    `forkafterauthentication ${yn(v.ForkAfterAuthentication, false)}`,
    `stricthostkeychecking ${tf(v.StrictHostKeyChecking ?? 'ask')}`,
    `visualhostkey ${yn(v.VisualHostKey, false)}`,
    `updatehostkeys ${tf(v.UpdateHostKeys ?? defaultUpdateHostKeys(v))}`,
    `enableescapecommandline ${yn(v.EnableEscapeCommandline, false)}`,
    `warnweakcrypto ${v.WarnWeakCrypto ?? 'yes'}`,
    `connectionattempts ${v.ConnectionAttempts ?? 1}`,
    `numberofpasswordprompts ${v.NumberOfPasswordPrompts ?? 3}`,
    `serveralivecountmax ${v.ServerAliveCountMax ?? 3}`,
    `serveraliveinterval ${v.ServerAliveInterval ?? 0}`,
    `requiredrsasize ${v.RequiredRSASize ?? 1024}`,
  ];
  const str = (keyword: string, value: string | undefined) => {
    if (value !== undefined) out.push(`${keyword} ${value}`);
  };
  str('bindaddress', v.BindAddress);
  str('ciphers', algs.cipher.join(','));
  str('controlpath', v.ControlPath === undefined || v.ControlPath === 'none' ? undefined : path(v.ControlPath, 'ControlPath'));
  str('hostkeyalgorithms', algs.hostKey.join(','));
  str('hostkeyalias', v.HostKeyAlias);
  str('identityagent', v.IdentityAgent === undefined || v.IdentityAgent === 'none' || v.IdentityAgent === 'SSH_AUTH_SOCK' ? v.IdentityAgent : path(v.IdentityAgent, 'IdentityAgent'));
  str('ignoreunknown', v.IgnoreUnknown);
  str('kexalgorithms', algs.kex.join(','));
  str('casignaturealgorithms', caSignatureAlgorithmList(v.CASignatureAlgorithms).join(','));
  str('remotecommand', v.RemoteCommand === undefined ? undefined : expandTokens(expandEnvironment(v.RemoteCommand, 'RemoteCommand', env), 'RemoteCommand', t));
  str('loglevel', v.LogLevel === 'DEBUG1' ? 'DEBUG' : (v.LogLevel ?? 'INFO'));
  str('macs', algs.mac.join(','));
  str('preferredauthentications', v.PreferredAuthentications);
  str('pubkeyacceptedalgorithms', pubkey.join(','));
  str('revokedhostkeys', v.RevokedHostKeys === undefined ? undefined : path(v.RevokedHostKeys, 'RevokedHostKeys'));
  str('tag', v.Tag);
  const local = (v.LocalForward ?? []).map((s) => expandForward(s, 'LocalForward', t, env));
  const dynamic = (v.DynamicForward ?? []).map((s) => expandForward(s, 'DynamicForward', t, env));
  const remote = (v.RemoteForward ?? []).map((s) => expandForward(s, 'RemoteForward', t, env));
  // ssh keeps -L and -D in one list; a -L to a socket path prints under dynamicforward too (its quirk, kept so the output compares equal).
  out.push(...forwardLines('dynamicforward', [...local.flatMap((s) => (s.type === 'local' && s.connect.kind === 'unix' ? [{ type: 'dynamic' as const, listen: s.listen }] : [])), ...dynamic]));
  out.push(...forwardLines('localforward', local));
  out.push(...forwardLines('remoteforward', remote));
  for (const f of v.IdentityFile ?? DEFAULT_IDENTITY_FILES) out.push(`identityfile ${f}`);
  for (const f of v.CertificateFile ?? []) out.push(`certificatefile ${f}`);
  out.push(`globalknownhostsfile ${(v.GlobalKnownHostsFile ?? DEFAULT_GLOBAL_KNOWN_HOSTS).join(' ')}`);
  out.push(`userknownhostsfile ${(v.UserKnownHostsFile ?? DEFAULT_USER_KNOWN_HOSTS).map((f) => path(f, 'UserKnownHostsFile')).join(' ')}`);
  for (const e of v.SendEnv ?? []) out.push(`sendenv ${e}`);
  for (const e of v.SetEnv ?? []) out.push(`setenv ${e}`);
  out.push(`permitremoteopen ${(v.PermitRemoteOpen ?? ['any']).join(' ')}`);
  const ak = v.AddKeysToAgent;
  out.push(ak?.lifetime !== undefined ? `addkeystoagent${ak.mode === 'confirm' ? ' confirm' : ''} ${ak.lifetime}` : `addkeystoagent ${tf(ak?.mode ?? 'no')}`);
  const fa = v.ForwardAgent;
  out.push(`forwardagent ${typeof fa === 'string' ? path(fa, 'ForwardAgent') : yn(fa, false)}`);
  out.push(`connecttimeout ${v.ConnectTimeout === undefined || v.ConnectTimeout === null ? 'none' : v.ConnectTimeout}`);
  out.push(`controlpersist ${controlPersistText(v.ControlPersist)}`);
  out.push(`escapechar ${escapeCharText(v.EscapeChar ?? '~')}`);
  out.push(`rekeylimit ${v.RekeyLimit?.bytes ?? 0} ${v.RekeyLimit?.seconds ?? 0}`);
  const jump = v.ProxyJump === undefined ? null : printProxyJump(v.ProxyJump);
  if (jump !== null) out.push(`proxyjump ${jump}`);
  else if (v.ProxyCommand !== undefined && v.ProxyCommand !== 'none') out.push(`proxycommand ${v.ProxyCommand}`);
  return out.map((l) => l + '\n').join('');
}

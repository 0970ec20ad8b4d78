// The library options one nacre connection runs with, from its resolved
// ssh_config: where to connect, which keys and methods, how host keys are
// judged (host-keys.ts) and where the questions go (prompter.ts). The
// authentication keywords (PubkeyAuthentication, PasswordAuthentication,
// KbdInteractiveAuthentication, PreferredAuthentications, BatchMode) decide
// which answers nacre gives at all.
import type { AlgorithmPreferences, ConnectOptions, KeyboardInteractiveChallenge } from '../../index.js';
import { expandHome } from '../../index.js';
import type { Logger } from '../common/log.js';
import { fatal } from '../common/exit.js';
import { flag, type Settings } from './settings.js';
import { hostKeyVerifier, parseStrictHostKeyChecking } from './host-keys.js';
import { loadIdentities } from './identities.js';
import type { Prompter } from './prompter.js';

export interface ConnectionPlan {
  readonly options: ConnectOptions;
  /** The user and host as ssh names them in "Permission denied" and prompts. */
  readonly user: string;
  readonly host: string;
  readonly port: number;
}

function number(settings: Settings, keyword: string, min: number, max: number): number | undefined {
  const v = settings.get(keyword);
  if (v === undefined || v.toLowerCase() === 'none') return undefined;
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) fatal(`nacre: invalid ${keyword} value "${v}"`);
  return Number(v);
}

/** Which authentication methods the settings allow, in PreferredAuthentications' order. */
export function allowedMethods(settings: Settings): string[] {
  const preferred = (settings.get('PreferredAuthentications') ?? 'publickey,keyboard-interactive,password').split(',').map((m) => m.trim().toLowerCase());
  return preferred.filter((m) => {
    if (m === 'publickey') return flag(settings, 'PubkeyAuthentication', true);
    if (m === 'keyboard-interactive') return flag(settings, 'KbdInteractiveAuthentication', flag(settings, 'ChallengeResponseAuthentication', true));
    if (m === 'password') return flag(settings, 'PasswordAuthentication', true);
    return false;
  });
}

function algorithms(settings: Settings): AlgorithmPreferences | undefined {
  const prefs: { -readonly [K in keyof AlgorithmPreferences]: AlgorithmPreferences[K] } = {};
  const kex = settings.get('KexAlgorithms');
  const hostKey = settings.get('HostKeyAlgorithms');
  const cipher = settings.get('Ciphers');
  const mac = settings.get('MACs');
  if (kex) prefs.kex = kex;
  if (hostKey) prefs.hostKey = hostKey;
  if (cipher) prefs.cipher = cipher;
  if (mac) prefs.mac = mac;
  if (flag(settings, 'Compression', false)) prefs.compression = ['zlib@openssh.com', 'zlib', 'none'];
  return Object.keys(prefs).length > 0 ? prefs : undefined;
}

export interface PlanDeps {
  readonly log: Logger;
  readonly prompter: Prompter;
  readonly localUser: string;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** The ConnectOptions for `host` with these settings; fatal() for a value ssh would refuse. */
export async function planConnection(alias: string, settings: Settings, deps: PlanDeps): Promise<ConnectionPlan> {
  const { log, prompter } = deps;
  const host = settings.get('HostName') ?? alias;
  const port = number(settings, 'Port', 1, 65535) ?? 22;
  const user = settings.get('User') ?? deps.localUser;
  const batchMode = flag(settings, 'BatchMode', false);
  const strict = parseStrictHostKeyChecking(settings.get('StrictHostKeyChecking'));
  if (strict === null) fatal(`nacre: unsupported StrictHostKeyChecking value "${settings.get('StrictHostKeyChecking')}"`);
  const methods = allowedMethods(settings);
  // A changed host key let through (StrictHostKeyChecking no) must not get a password typed into it.
  let manInTheMiddleRisk = false;

  const knownHostsFiles = settings.all('UserKnownHostsFile').flatMap((v) => v.split(/\s+/)).filter((f) => f !== '');
  const knownHosts = knownHostsFiles[0] ?? '~/.ssh/known_hosts';
  const knownHostsPath = knownHosts.toLowerCase() === 'none' ? null : expandHome(knownHosts);
  // ssh "adds" to /dev/null happily; a rename over it would replace the device.
  const writable = knownHostsPath !== null && knownHostsPath !== '/dev/null';

  const identities = methods.includes('publickey')
    ? await loadIdentities(settings.all('IdentityFile'), settings.all('CertificateFile'), {
        log,
        askPassphrase: (prompt) => prompter.secret(prompt),
      })
    : [];

  const keyboardInteractive = async (challenge: KeyboardInteractiveChallenge): Promise<string[] | null> => {
    if (manInTheMiddleRisk) return null;
    if (challenge.name) log.info(challenge.name);
    if (challenge.instruction) log.info(challenge.instruction);
    const answers: string[] = [];
    for (const p of challenge.prompts) {
      const shown = `(${user}@${settings.get('HostKeyAlias') ?? alias}) ${p.prompt}`;
      const a = p.echo ? await prompter.line(shown) : await prompter.secret(shown);
      if (a === null) return null;
      answers.push(a);
    }
    return answers;
  };

  const connectTimeout = number(settings, 'ConnectTimeout', 0, 86400 * 365);
  const aliveInterval = number(settings, 'ServerAliveInterval', 0, 86400 * 365) ?? 0;
  const aliveCount = number(settings, 'ServerAliveCountMax', 1, 10000) ?? 3;
  const attempts = number(settings, 'ConnectionAttempts', 1, 10000);
  const algs = algorithms(settings);
  const family = settings.get('AddressFamily')?.toLowerCase();
  const bind = settings.get('BindAddress');
  const jump = settings.get('ProxyJump');
  const proxyCommand = settings.get('ProxyCommand');
  const identityAgent = settings.get('IdentityAgent');
  const agentOn = methods.includes('publickey') && identityAgent?.toLowerCase() !== 'none' && (identityAgent !== undefined || deps.env.SSH_AUTH_SOCK !== undefined);
  const forwardAgent = settings.get('ForwardAgent');

  const options: ConnectOptions = {
    host,
    port,
    username: user,
    privateKey: identities.map((i) => i.signer),
    ...(methods.includes('keyboard-interactive') ? { keyboardInteractive } : {}),
    ...(methods.includes('password') ? { askPassword: () => (manInTheMiddleRisk ? null : prompter.secret(`${user}@${host}'s password: `)) } : {}),
    verifyHostKey: hostKeyVerifier({
      strict,
      batchMode,
      log,
      askLine: (prompt) => prompter.line(prompt),
      onManInTheMiddleRisk: () => {
        manInTheMiddleRisk = true;
      },
    }),
    knownHosts: knownHostsPath ?? false,
    acceptUnknownHostKey: writable,
    hashKnownHosts: flag(settings, 'HashKnownHosts', false),
    ...(algs ? { algorithms: algs } : {}),
    keepalive: aliveInterval > 0 ? { intervalMs: aliveInterval * 1000, countMax: aliveCount } : false,
    ...(connectTimeout !== undefined && connectTimeout > 0 ? { connectTimeout: connectTimeout * 1000 } : {}),
    ...(attempts !== undefined ? { connectionAttempts: attempts } : {}),
    ...(family === 'inet' ? { family: 4 as const } : family === 'inet6' ? { family: 6 as const } : {}),
    ...(bind ? { localAddress: bind } : {}),
    ...(jump && jump.toLowerCase() !== 'none' ? { proxyJump: jump } : {}),
    ...(proxyCommand && proxyCommand.toLowerCase() !== 'none' ? { proxyCommand } : {}),
    ...(agentOn ? { agent: identityAgent ? expandHome(identityAgent.replace(/^"|"$/g, '')) : true } : {}),
    ...(forwardAgent && forwardAgent.toLowerCase() !== 'no' ? { forwardAgent: forwardAgent.toLowerCase() === 'yes' ? true : expandHome(forwardAgent) } : {}),
    ...(flag(settings, 'IdentitiesOnly', false) ? { identitiesOnly: true } : {}),
    ...(settings.get('HostKeyAlias') ? { hostKeyAlias: settings.get('HostKeyAlias')! } : {}),
    ...(flag(settings, 'UpdateHostKeys', false) ? { updateHostKeys: true } : {}),
    onBanner: (message) => log.info(message.replace(/\n$/, '')),
    // A whole ssh session may wait on the user at every prompt.
    readyTimeout: 3600_000,
  };
  return { options, user, host, port };
}

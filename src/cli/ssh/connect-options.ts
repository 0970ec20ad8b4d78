// The library options one nacre connection runs with, from its resolved
// ssh_config: where to connect, which keys and methods, how host keys are
// judged (host-keys.ts) and where the questions go (prompter.ts). The
// authentication keywords (PubkeyAuthentication, PasswordAuthentication,
// KbdInteractiveAuthentication, PreferredAuthentications, BatchMode) decide
// which answers nacre gives at all.
import type { ConnectOptions, KeyboardInteractiveChallenge, SshConfig } from '../../index.js';
import { configIdentityFiles, knownHostName, sshConfigToConnectOptions } from '../../client-entry.js';
import { describePublicKey } from '../../keys-entry.js';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { Logger } from '../common/log.js';
import { fatal } from '../common/exit.js';
import { safeLines } from '../common/peer-text.js';
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

/** NumberOfPasswordPrompts (default 3), at most the library's 100. */
function numberOfPasswordPrompts(settings: Settings): number {
  const n = Number(settings.get('NumberOfPasswordPrompts') ?? '3');
  return Math.min(100, Number.isInteger(n) && n >= 0 ? n : 3);
}

/**
 * What ssh shows in parentheses in the known_hosts question: the address it
 * connects to, named as in known_hosts (`[1.2.3.4]:2222`), or for a proxy
 * `<no hostip for proxy command>`. A name that does not resolve is shown as is
 * (the connection then fails with the resolver's error anyway).
 */
async function addressShown(options: ConnectOptions, host: string, port: number): Promise<string> {
  if (options.proxyCommand !== undefined || (options.proxyJump !== undefined && options.proxyJump !== 'none')) return '<no hostip for proxy command>';
  let address = host;
  if (isIP(host) === 0) {
    try {
      address = (await lookup(host, options.family ? { family: options.family } : {})).address;
    } catch {
      // shown as the name
    }
  }
  return knownHostName(address, port);
}

export interface PlanDeps {
  readonly log: Logger;
  readonly prompter: Prompter;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/**
 * The ConnectOptions for a resolved config: the library's mapping of
 * ssh_config (sshConfigToConnectOptions), with nacre's own answers laid over
 * it: keys whose passphrases are asked when needed, the methods the settings
 * allow, the host key questions, keepalives off unless asked for (as ssh).
 * fatal() for a value ssh would refuse.
 */
export async function planConnection(config: SshConfig, settings: Settings, deps: PlanDeps): Promise<ConnectionPlan> {
  const { log, prompter } = deps;
  const base = sshConfigToConnectOptions(config, { env: deps.env, loadIdentities: false });
  const host = config.hostName;
  const port = config.port;
  const user = config.user;
  const batchMode = flag(settings, 'BatchMode', false);
  const strict = parseStrictHostKeyChecking(settings.get('StrictHostKeyChecking'));
  if (strict === null) fatal(`nacre: unsupported StrictHostKeyChecking value "${settings.get('StrictHostKeyChecking')}"`);
  const prompts = numberOfPasswordPrompts(settings);
  // NumberOfPasswordPrompts 0: ssh asks nothing, so neither method is tried.
  const methods = allowedMethods(settings).filter((m) => prompts > 0 || m === 'publickey');
  // A changed host key let through (StrictHostKeyChecking no) must not get a password typed into it.
  let manInTheMiddleRisk = false;

  // Keys accepted are written to the first UserKnownHostsFile (the library "adds" to /dev/null as ssh does: nothing).
  const writable = typeof base.knownHosts === 'string';

  const files = configIdentityFiles(config, deps.env);
  const identities = methods.includes('publickey')
    ? await loadIdentities(files.identities, files.certificates, {
        log,
        askPassphrase: (prompt) => prompter.secret(prompt),
      })
    : [];

  // RequiredRSASize: ssh names a key file too short as it loads it (an error line); the library leaves the key unoffered.
  const minRsa = base.requiredRsaSize ?? 1024;
  for (const i of identities) {
    if (i.signer.keyType === 'ssh-rsa' && describePublicKey(i.signer.publicBlob).bits < minRsa) log.error(`load pubkey "${i.path}": Invalid key length`);
  }

  const alias = settings.get('HostKeyAlias') ?? config.host;
  const keyboardInteractive = async (challenge: KeyboardInteractiveChallenge): Promise<string[] | null> => {
    if (manInTheMiddleRisk) return null;
    if (challenge.name) log.info(challenge.name);
    if (challenge.instruction) log.info(challenge.instruction);
    const answers: string[] = [];
    for (const p of challenge.prompts) {
      const shown = `(${user}@${alias}) ${p.prompt}`;
      const a = p.echo ? await prompter.line(shown) : await prompter.secret(shown);
      if (a === null) return null;
      answers.push(a);
    }
    return answers;
  };

  const options: ConnectOptions = {
    ...base,
    privateKey: identities.map((i) => i.signer),
    ...(methods.includes('keyboard-interactive') ? { keyboardInteractive } : {}),
    ...(methods.includes('password')
      ? {
          askPassword: ({ attempt }: { attempt: number }) => {
            if (manInTheMiddleRisk) return null;
            if (attempt > 1) log.info('Permission denied, please try again.');
            return prompter.secret(`${user}@${host}'s password: `);
          },
        }
      : {}),
    ...(methods.includes('publickey') ? {} : { agent: false }),
    // PreferredAuthentications orders the methods as well as choosing them;
    // passwords and keyboard-interactive are asked NumberOfPasswordPrompts times.
    authMethods: methods as ('publickey' | 'keyboard-interactive' | 'password')[],
    passwordAttempts: Math.max(1, prompts),
    verifyHostKey: hostKeyVerifier({
      strict,
      batchMode,
      log,
      address: await addressShown(base, host, port),
      askLine: (prompt) => prompter.line(prompt),
      onManInTheMiddleRisk: () => {
        manInTheMiddleRisk = true;
      },
    }),
    acceptUnknownHostKey: writable,
    // ssh sends no keepalives unless ServerAliveInterval asks for them.
    ...(settings.get('ServerAliveInterval') === undefined ? { keepalive: false as const } : {}),
    // The server's text, as ssh prints it: no escape sequences reach the terminal.
    onBanner: (message) => log.info(safeLines(message.replace(/\n$/, ''))),
    // A whole ssh session may wait on the user at every prompt.
    readyTimeout: 3600_000,
  };
  return { options, user, host, port };
}

// StrictHostKeyChecking as ssh applies it, as a `verifyHostKey` callback:
// a known key passes; an unknown one is asked about on the terminal
// (`ask`, the default: yes, no, or the fingerprint itself), refused (`yes`,
// BatchMode, no terminal) or added (`accept-new`, `no`/`off`, with ssh's
// "Permanently added" warning); a changed key prints ssh's big warning
// naming the offending known_hosts line and is refused (under `no`/`off` ssh
// goes on with password and keyboard-interactive disabled: so do we); a
// revoked key is always refused. The library writes the accepted key.
import { knownHostName, type HostKeyDecision, type HostKeyInfo } from '../../client-entry.js';
import type { Logger } from '../common/log.js';

export type StrictHostKeyChecking = 'yes' | 'accept-new' | 'no' | 'ask';

/** StrictHostKeyChecking's value (`off` is `no`, `true`/`false` as yes/no); null for a bad one. */
export function parseStrictHostKeyChecking(value: string | undefined): StrictHostKeyChecking | null {
  switch ((value ?? 'ask').toLowerCase()) {
    case 'yes':
    case 'true':
      return 'yes';
    case 'accept-new':
      return 'accept-new';
    case 'no':
    case 'off':
    case 'false':
      return 'no';
    case 'ask':
      return 'ask';
    default:
      return null;
  }
}

export interface HostKeyPromptDeps {
  readonly strict: StrictHostKeyChecking;
  readonly batchMode: boolean;
  readonly log: Logger;
  /** Asks on the terminal with echo on; null when there is no terminal or input ended. */
  askLine(prompt: string): Promise<string | null>;
  /** How the question names the address (ssh: the IP connected to, or `<no hostip for proxy command>`); default the host name. */
  readonly address?: string;
  /** Called when a changed key is let through (StrictHostKeyChecking no): password prompts must then stay off. */
  onManInTheMiddleRisk?(): void;
}

/** ssh's short names of key types: ED25519, ECDSA, RSA, ED25519-SK ... */
export function keyTypeLabel(keyType: string): string {
  const cert = keyType.includes('-cert-v01@openssh.com');
  const base = keyType.replace('-cert-v01@openssh.com', '');
  let label: string;
  if (base === 'ssh-ed25519') label = 'ED25519';
  else if (base.startsWith('ecdsa-sha2-')) label = 'ECDSA';
  else if (base === 'ssh-rsa' || base.startsWith('rsa-sha2-')) label = 'RSA';
  else if (base.startsWith('sk-ssh-ed25519')) label = 'ED25519-SK';
  else if (base.startsWith('sk-ecdsa')) label = 'ECDSA-SK';
  else if (base === 'ssh-dss') label = 'DSA';
  else label = base.toUpperCase();
  return cert ? `${label}-CERT` : label;
}

/** How ssh names the host in its messages: `host` or `[host]:port`. */
function hostName(info: HostKeyInfo): string {
  return knownHostName(info.host, info.port);
}

/** The "REMOTE HOST IDENTIFICATION HAS CHANGED" block, as ssh prints it. */
export function changedKeyWarning(info: HostKeyInfo): string[] {
  const label = keyTypeLabel(info.keyType);
  const file = info.knownHostsEntry?.file ?? info.knownHostsFile ?? '~/.ssh/known_hosts';
  const lines = [
    '@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@',
    '@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @',
    '@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@',
    'IT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!',
    'Someone could be eavesdropping on you right now (man-in-the-middle attack)!',
    'It is also possible that a host key has just been changed.',
    `The fingerprint for the ${label} key sent by the remote host is`,
    `${info.fingerprint}.`,
    'Please contact your system administrator.',
    `Add correct host key in ${info.knownHostsFile ?? file} to get rid of this message.`,
  ];
  if (info.knownHostsEntry) {
    lines.push(`Offending ${keyTypeLabel(info.knownHostsEntry.keyType)} key in ${info.knownHostsEntry.file}:${info.knownHostsEntry.line}`);
    lines.push('  remove with:');
    lines.push(`  ssh-keygen -f '${info.knownHostsEntry.file}' -R '${hostName(info)}'`);
  }
  return lines;
}

/** The "REVOKED HOST KEY DETECTED" block. */
export function revokedKeyWarning(info: HostKeyInfo): string[] {
  return [
    '@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@',
    '@       WARNING: REVOKED HOST KEY DETECTED!               @',
    '@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@',
    `The ${keyTypeLabel(info.keyType)} host key for ${hostName(info)} is marked as revoked.`,
    'This could mean that a stolen key is being used to',
    'impersonate this host.',
  ];
}

/**
 * The question ssh asks about an unknown key (written to the terminal as one
 * prompt). `address` is what ssh shows in parentheses: the address
 * connected to, as known_hosts would name it.
 */
export function unknownKeyQuestion(info: HostKeyInfo, address: string = hostName(info)): string {
  const name = hostName(info);
  const certNote = info.certificate?.problem ? `The host presented a certificate that was not accepted: ${info.certificate.problem}\n` : '';
  return (
    `The authenticity of host '${name} (${address})' can't be established.\n` +
    certNote +
    `${keyTypeLabel(info.keyType)} key fingerprint is ${info.fingerprint}.\n` +
    'This key is not known by any other names.\n' +
    'Are you sure you want to continue connecting (yes/no/[fingerprint])? '
  );
}

/**
 * ssh's confirm loop: `yes` or the key's own fingerprint accepts, `no`
 * (or end of input) refuses, anything else asks again.
 */
export async function confirmUnknownKey(info: HostKeyInfo, askLine: HostKeyPromptDeps['askLine'], address?: string): Promise<boolean> {
  let prompt = unknownKeyQuestion(info, address);
  for (let tries = 0; tries < 100; tries++) {
    const answer = await askLine(prompt);
    if (answer === null) return false;
    const a = answer.trim();
    if (a.toLowerCase() === 'yes') return true;
    if (a.toLowerCase() === 'no') return false;
    if (a === info.fingerprint) return true;
    prompt = "Please type 'yes', 'no' or the fingerprint: ";
  }
  return false;
}

/** The `verifyHostKey` callback for these settings. */
export function hostKeyVerifier(deps: HostKeyPromptDeps): (info: HostKeyInfo) => Promise<HostKeyDecision> {
  return async (info) => {
    const { log } = deps;
    const label = keyTypeLabel(info.keyType);
    switch (info.knownHosts) {
      case 'match':
        if (info.knownHostsEntry) {
          log.debug(1, `Host '${hostName(info)}' is known and matches the ${label} host key.`);
          log.debug(1, `Found key in ${info.knownHostsEntry.file}:${info.knownHostsEntry.line}`);
        }
        return true;
      case 'not-checked':
        return true;
      case 'revoked':
        for (const line of revokedKeyWarning(info)) log.error(line);
        return false;
      case 'mismatch': {
        for (const line of changedKeyWarning(info)) log.error(line);
        if (deps.strict === 'no') {
          log.error('Password authentication is disabled to avoid man-in-the-middle attacks.');
          log.error('Keyboard-interactive authentication is disabled to avoid man-in-the-middle attacks.');
          deps.onManInTheMiddleRisk?.();
          return { accept: 'mismatch' };
        }
        log.error(`Host key for ${hostName(info)} has changed and you have requested strict checking.`);
        return false;
      }
      case 'unknown': {
        let accepted: boolean;
        if (deps.strict === 'yes') {
          log.error(`No ${label} host key is known for ${hostName(info)} and you have requested strict checking.`);
          accepted = false;
        } else if (deps.strict === 'ask') {
          accepted = !deps.batchMode && (await confirmUnknownKey(info, deps.askLine, deps.address));
        } else {
          accepted = true;
        }
        if (accepted) log.info(`Warning: Permanently added '${hostName(info)}' (${label}) to the list of known hosts.`);
        return accepted;
      }
      default:
        return false;
    }
  };
}

// The command-line ssh_config lines a jump host is resolved with. ssh
// reaches `-J hop` by running `ssh -l user -p port -J earlier-hops -F file
// -W target hop`, so the hop's own Host block decides its HostName, User,
// Port, IdentityFile and (for the first hop) ProxyJump. nacre also hands the
// hop the command line's other options (-i, -o UserKnownHostsFile=..., -v,
// algorithms ...), which ssh's jump process does not get, but none of those
// that name or describe the destination's session. Pure.
import type { JumpHost } from '../../index.js';

/** Keywords (lower case) that belong to the destination, never passed to a hop. */
const DESTINATION_ONLY = new Set([
  'hostname',
  'user',
  'port',
  'proxyjump',
  'proxycommand',
  'hostkeyalias',
  'remotecommand',
  'requesttty',
  'sessiontype',
  'localforward',
  'remoteforward',
  'dynamicforward',
  'clearallforwardings',
  'exitonforwardfailure',
  'forwardagent',
  'forwardx11',
  'forwardx11trusted',
  'controlmaster',
  'controlpath',
  'controlpersist',
  'forkafterauthentication',
  'stdinnull',
  'sendenv',
  'setenv',
  'localcommand',
  'permitlocalcommand',
  'escapechar',
  'tunnel',
  'tunneldevice',
]);

/** The keyword of an ssh_config line (`Keyword value`, `Keyword=value`), lower case. */
export function lineKeyword(line: string): string {
  const m = /^\s*([A-Za-z0-9]+)/.exec(line);
  return m ? m[1]!.toLowerCase() : '';
}

/**
 * The lines for `hop`: its user and port as typed in the ProxyJump string,
 * `extra` (the hops before it) as its ProxyJump, then the command line's
 * lines that do not belong to the destination.
 */
export function hopCommandLine(commandLine: readonly string[], hop: JumpHost, extra: string | undefined): string[] {
  return [
    ...(hop.username !== undefined ? [`User ${hop.username}`] : []),
    ...(hop.port !== undefined ? [`Port ${hop.port}`] : []),
    ...(extra !== undefined ? [`ProxyJump ${extra}`] : []),
    ...commandLine.filter((line) => !DESTINATION_ONLY.has(lineKeyword(line))),
  ];
}

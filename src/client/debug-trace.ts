// The `debug` option: what `ssh -v` reports of a connection, from the
// events connect() sees (versions, the algorithms chosen, the host key,
// authentication methods and their outcome). Channel opens are reported by
// the NodeEndpoint, which sees them all. Lines carry no `debugN: ` prefix.
import type { EndpointEvent } from '../core/endpoint.js';
import type { NodeEndpoint } from '../io/node/node-endpoint.js';
import { blobKeyType, fingerprintSha256 } from '../keys/blob.js';
import type { ConnectOptions } from './options.js';

type Debug = NonNullable<ConnectOptions['debug']>;

/** Software version of an identification line (`SSH-2.0-OpenSSH_10.0 x` → `OpenSSH_10.0 x`). */
function software(line: string): string {
  return line.replace(/^SSH-[^-]+-/, '');
}

/** `debug`, made harmless: a throwing callback never breaks the connection. */
export function safeDebug(debug: Debug | undefined): Debug | undefined {
  if (!debug) return undefined;
  return (level, message) => {
    try {
      debug(level, message);
    } catch {
      // the trace is advisory
    }
  };
}

/** A function that reports one event to `say` (a `safeDebug`). */
export function debugTracer(say: Debug | undefined): (e: EndpointEvent, node: NodeEndpoint) => void {
  if (!say) return () => undefined;
  let versionsShown = false;
  let lastMethod = '';
  return (e, node) => {
    if (!versionsShown && node.endpoint.transport.peerVersion !== null) {
      versionsShown = true;
      say(1, `Local version string ${node.endpoint.transport.localVersion}`);
      const peer = node.endpoint.transport.peerVersion;
      say(1, `Remote protocol version ${/^SSH-([^-]+)-/.exec(peer)?.[1] ?? '?'}, remote software version ${software(peer)}`);
    }
    switch (e.type) {
      case 'host-key':
        say(1, `kex: host key algorithm: ${e.algorithm}`);
        say(1, `Server host key: ${blobKeyType(e.hostKey)} ${fingerprintSha256(e.hostKey)}`);
        return;
      case 'keys-exchanged': {
        const a = e.algorithms;
        say(1, `kex: algorithm: ${a.kex}`);
        say(1, `kex: server->client cipher: ${a.serverToClient.cipher} MAC: ${a.serverToClient.mac ?? '<implicit>'} compression: ${a.serverToClient.compression}`);
        say(1, `kex: client->server cipher: ${a.clientToServer.cipher} MAC: ${a.clientToServer.mac ?? '<implicit>'} compression: ${a.clientToServer.compression}`);
        say(2, `kex: ${e.initial ? 'initial key exchange' : 're-exchange'} done${e.strict ? ' (strict kex)' : ''}`);
        return;
      }
      case 'auth-attempt':
        if (e.method !== lastMethod) say(1, `Next authentication method: ${e.method}`);
        lastMethod = e.method;
        if (e.publicKey) say(1, `Offering public key: ${blobKeyType(e.publicKey)} ${fingerprintSha256(e.publicKey)}${e.algorithm && e.algorithm !== blobKeyType(e.publicKey) ? ` (${e.algorithm})` : ''}`);
        return;
      case 'auth-progress':
        if (e.result === 'partial') say(1, `Authenticated using "${e.method}" with partial success.`);
        say(1, `Authentications that can continue: ${e.allowed.join(',')}`);
        return;
      case 'auth-sign':
        say(1, `Server accepts key: ${blobKeyType(e.publicKey)} ${fingerprintSha256(e.publicKey)}`);
        return;
      case 'auth-prompt':
        say(2, `keyboard-interactive: ${e.prompts.length} prompt(s)`);
        return;
      case 'auth-success':
        say(1, `Authentication succeeded (${e.method}).`);
        return;
      case 'auth-banner':
        say(2, 'input_userauth_banner');
        return;
      case 'disconnected':
        say(1, `connection closed: ${e.error.message}`);
        return;
      default:
        return;
    }
  };
}

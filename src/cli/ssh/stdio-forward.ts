// `nacre -W host:port` (and `-W /socket`): stdin and stdout relayed to one
// direct-tcpip (or direct-streamlocal) channel, as ssh's stdio forwarding,
// the usual ProxyCommand of a jump host. Done when the channel closes.
import type { Readable, Writable } from 'node:stream';
import type { Client, ForwardEndpoint } from '../../index.js';
import type { ForwardingLog } from './forwardings.js';
import { visible } from '../common/peer-text.js';

/**
 * Opens the channel to `to` and relays `input` into it and its data to
 * `output`. Resolves with ssh's exit status: 0 once the channel closed, 255
 * when it could not be opened (with ssh's "stdio forwarding failed").
 */
export async function runStdioForward(client: Client, to: ForwardEndpoint, input: Readable, output: Writable, log: ForwardingLog): Promise<number> {
  let channel;
  try {
    channel =
      to.kind === 'unix'
        ? await client.openDirectStreamlocal(to.path)
        : await client.openDirectTcpip({ host: to.host ?? '', port: to.port, originatorAddress: 'stdio', originatorPort: 0 });
  } catch (err) {
    log.error(`channel 0: open failed: ${visible((err as Error).message)}`);
    log.error('stdio forwarding failed');
    return 255;
  }
  const ch = channel;
  log.debug(1, `channel 0: stdio forwarding to ${to.kind === 'unix' ? to.path : `${to.host}:${to.port}`}`);
  return new Promise<number>((resolve) => {
    // stdin's EOF is the channel's EOF; the server's data goes to stdout as it comes.
    input.pipe(ch);
    ch.pipe(output, { end: false });
    ch.once('close', () => {
      input.unpipe(ch);
      input.pause();
      resolve(0);
    });
    ch.on('error', () => undefined);
    input.on('error', () => ch.end());
    client.closed.then(() => resolve(0), () => resolve(255));
  });
}

// The `ssh2` package's server for the `nacred` bench section (bench/server.ts):
// the same host key and authorized key files as the Nacre server, publickey
// logins with the signature checked, Nagle's algorithm off on every
// connection (as Nacre's server and sshd after login). No sessions: the
// section's connection rate is handshake + authentication + close, and the
// memory probe holds idle authenticated connections.
//
//   node --expose-gc dist/bench/server-ssh2.js <dir>
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { answerProbes, forkServer, type ServerProcess } from './server-nacre.js';

/** The part of the `ssh2` package's server API used here (it ships no type declarations). */
interface Ssh2Key {
  readonly type: string;
  getPublicSSH(): Buffer;
  verify(data: Buffer, signature: Buffer, hashAlgo?: string): boolean | Error;
}
interface Ssh2AuthContext {
  readonly method: string;
  readonly key?: { readonly algo: string; readonly data: Buffer };
  readonly signature?: Buffer;
  readonly blob?: Buffer;
  readonly hashAlgo?: string;
  accept(): void;
  reject(methods?: string[]): void;
}
interface Ssh2ServerClient {
  on(event: 'authentication', fn: (ctx: Ssh2AuthContext) => void): this;
  on(event: 'error' | 'close' | 'ready', fn: () => void): this;
  setNoDelay(noDelay: boolean): this;
}
interface Ssh2Server {
  listen(port: number, host: string, cb: () => void): void;
  address(): { port: number };
}
interface Ssh2Module {
  Server: new (config: { hostKeys: Buffer[] }, onClient: (client: Ssh2ServerClient) => void) => Ssh2Server;
  utils: { parseKey(data: Buffer | string): Ssh2Key | Error };
}

export function startSsh2Server(dir: string): Promise<ServerProcess> {
  return forkServer('ssh2 server', fileURLToPath(import.meta.url), [dir]);
}

function serve(dir: string): void {
  const ssh2 = createRequire(import.meta.url)('ssh2') as Ssh2Module;
  const allowed = ssh2.utils.parseKey(readFileSync(join(dir, 'authorized_keys'), 'utf8').trim());
  if (allowed instanceof Error) throw allowed;
  const allowedBlob = allowed.getPublicSSH();
  let connections = 0;
  const server = new ssh2.Server({ hostKeys: [readFileSync(join(dir, 'host_ed25519'))] }, (client) => {
    connections++;
    client.setNoDelay(true);
    client.on('error', () => undefined);
    client.on('close', () => connections--);
    client.on('authentication', (ctx) => {
      if (ctx.method !== 'publickey' || !ctx.key || ctx.key.algo !== allowed.type || !ctx.key.data.equals(allowedBlob)) return ctx.reject(['publickey']);
      // Without a signature the client only asks whether the key would do.
      if (ctx.signature && ctx.blob && allowed.verify(ctx.blob, ctx.signature, ctx.hashAlgo) !== true) return ctx.reject(['publickey']);
      ctx.accept();
    });
  });
  server.listen(0, '127.0.0.1', () => {
    answerProbes(() => connections);
    process.send?.({ type: 'ready', port: server.address().port });
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dir = process.argv[2];
  if (!dir) {
    console.error('usage: server-ssh2.js <dir with host_ed25519 and authorized_keys>');
    process.exit(2);
  }
  serve(dir);
}

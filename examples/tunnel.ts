// Forward a local port through the server, like `ssh -L`.
//   node dist/examples/tunnel.js user@host[:port] localPort remoteHost remotePort [private-key]
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { connect } from 'nacre';

const [target = '', localPort = '0', remoteHost = '127.0.0.1', remotePort = '80', keyPath = `${homedir()}/.ssh/id_ed25519`] = process.argv.slice(2);
const m = /^(?:([^@]+)@)?([^:]+)(?::(\d+))?$/.exec(target);
if (!m) throw new Error('usage: tunnel.js user@host[:port] localPort remoteHost remotePort [key]');

const conn = await connect({
  host: m[2],
  port: Number(m[3] ?? 22),
  username: m[1],
  privateKey: readFileSync(keyPath),
  ...(process.env.NACRE_KNOWN_HOSTS ? { knownHosts: process.env.NACRE_KNOWN_HOSTS } : {}),
});
const tunnel = await conn.forwardLocal({ localPort: Number(localPort), remoteHost, remotePort: Number(remotePort) });
console.log(`listening on ${tunnel.localHost}:${tunnel.port} -> ${remoteHost}:${remotePort}`);
process.once('SIGINT', () => void tunnel.close().then(() => conn.close()));
process.once('SIGTERM', () => void tunnel.close().then(() => conn.close()));

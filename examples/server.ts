// A small SSH server made with createServer: password login, a toy shell and
// exec. Build with `npx tsc -p tsconfig.json`, run `node dist/examples/server.js`,
// then: ssh -p 2222 -o StrictHostKeyChecking=no demo@127.0.0.1   (password: demo)
import { createServer, fingerprintSha256, generateHostKey, type ServerChannel } from 'nacre';

const hostKey = generateHostKey('ssh-ed25519');

const server = createServer({
  hostKeys: [hostKey],
  // Handlers refuse by default: only what is written here is allowed.
  authenticate: (ctx) => ctx.username === 'demo' && ctx.method === 'password' && ctx.password === 'demo',
  session: (s) => {
    s.onPty = () => true;
    s.onExec = (command, channel) => {
      channel.write(`you ran: ${command}\n`);
      channel.exit(0);
    };
    s.onShell = (channel) => toyShell(channel, s.username, s.pty !== null);
  },
});

/** Reads lines (echoing keys itself when the client's terminal is raw) and answers in upper case. */
function toyShell(channel: ServerChannel, username: string, terminal: boolean): void {
  const nl = terminal ? '\r\n' : '\n';
  let line = '';
  channel.write(`Hello ${username}! Type a line; "exit" leaves.${nl}> `);
  channel.on('data', (data: Buffer) => {
    for (const ch of data.toString('utf8')) {
      if (ch === '\r' || ch === '\n') {
        if (terminal) channel.write(nl);
        if (line.trim() === 'exit') return channel.exit(0);
        channel.write(`${line.toUpperCase()}${nl}> `);
        line = '';
      } else if (ch === '\x7f' || ch === '\b') {
        if (line.length > 0 && terminal) channel.write('\b \b');
        line = line.slice(0, -1);
      } else if (ch === '\x03' || ch === '\x04') {
        return channel.exit(130);
      } else {
        line += ch;
        if (terminal) channel.write(ch);
      }
    }
  });
  channel.on('end', () => channel.exit(0));
}

server.on('authenticated', (conn, info) => console.log(`${conn.remoteAddress}: ${info.username} logged in (${info.method})`));
server.on('error', (err, conn) => console.log(`${conn?.remoteAddress ?? 'server'}: ${err.message}`));

const address = await server.listen(Number(process.env.PORT ?? 2222), '127.0.0.1');
console.log(`listening on ${address.address}:${address.port}, host key ${fingerprintSha256(hostKey.publicBlob)}`);
console.log(`try: ssh -p ${address.port} -o StrictHostKeyChecking=no demo@127.0.0.1   (password: demo)`);
process.once('SIGINT', () => void server.close().then(() => process.exit(0)));

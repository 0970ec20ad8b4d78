// Misbehaving clients for the admission tests: raw sockets from 127.0.0.x that
// send nothing, a version line and then nothing, garbage, or close at once.
import { randomBytes } from 'node:crypto';
import { connect as netConnect, type Socket } from 'node:net';

export type Behaviour = 'idle' | 'version' | 'garbage' | 'close';

/** A raw socket from `from` to `port` that behaves badly once the server speaks; `closed` resolves when it closes. */
export function attacker(port: number, from: string, how: Behaviour): { socket: Socket; closed: Promise<void> } {
  const s = netConnect({ port, host: '127.0.0.1', localAddress: from });
  s.on('error', () => undefined);
  s.once('data', () => {
    if (how === 'version') s.write('SSH-2.0-stall\r\n');
    if (how === 'garbage') s.write(randomBytes(600));
    if (how === 'close') s.end();
  });
  return { socket: s, closed: new Promise((r) => s.once('close', () => r())) };
}

/**
 * From 127.0.0.2 to 127.0.0.`last`, each address keeps `perAddress` sockets
 * open (idle, stalled after the version line, or garbage, by address),
 * opening another 100 ms after one closes, until `stop()`.
 */
export function startAttack(port: number, last = 50, perAddress = 6): { stop(): Promise<void> } {
  let attacking = true;
  const kinds: Behaviour[] = ['idle', 'version', 'garbage'];
  const open = new Set<Socket>();
  const loops: Promise<void>[] = [];
  for (let i = 2; i <= last; i++) {
    const from = `127.0.0.${i}`;
    const how = kinds[i % kinds.length]!;
    for (let k = 0; k < perAddress; k++) {
      loops.push(
        (async () => {
          while (attacking) {
            const a = attacker(port, from, how);
            open.add(a.socket);
            await a.closed;
            open.delete(a.socket);
            await new Promise((r) => setTimeout(r, 100));
          }
        })(),
      );
    }
  }
  return {
    async stop() {
      attacking = false;
      for (const s of open) s.destroy();
      await Promise.all(loops);
    },
  };
}

// resolveJumpRoute: the order ssh reaches jump hosts in, what each hop is
// resolved with (the hops before it as its ProxyJump, or its own for the
// first), ssh's loop check and the cap on hops; and the command-line lines
// nacre hands a hop (src/cli/common/jump-route.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveJumpRoute, MAX_JUMP_HOPS, type ConnectOptions, type JumpHost } from '../../src/index.js';
import { hopCommandLine, lineKeyword } from '../../src/cli/common/jump-route.js';

const origin = { host: 'target', port: 22, username: 'me' };

/** A resolver over a table of aliases (HostName, Port, own ProxyJump), recording what it was asked. */
function table(entries: Record<string, { hostName?: string; port?: number; proxyJump?: string; proxyCommand?: string }>) {
  const asked: [string, string | undefined][] = [];
  const resolve = (hop: JumpHost, extra: string | undefined): ConnectOptions => {
    asked.push([hop.host, extra]);
    const e = entries[hop.host] ?? {};
    const proxyJump = extra ?? e.proxyJump;
    return {
      host: e.hostName ?? hop.host,
      port: hop.port ?? e.port ?? 22,
      username: hop.username ?? 'me',
      ...(proxyJump !== undefined ? { proxyJump } : {}),
      ...(e.proxyCommand !== undefined && proxyJump === undefined ? { proxyCommand: e.proxyCommand } : {}),
    };
  };
  return { asked, resolve };
}

test('hops come first hop first; each later hop is resolved with the hops before it, the first with its own ProxyJump', async () => {
  const t = table({ a: { hostName: 'a.example', proxyJump: 'bastion' }, b: { port: 2200 }, bastion: { hostName: '10.0.0.1' } });
  const route = await resolveJumpRoute('a,u@b:2222,c', origin, t.resolve);
  assert.deepEqual(
    route.map((r) => [r.host, r.port, r.username, r.proxyJump]),
    [
      ['10.0.0.1', 22, 'me', 'none'],
      ['a.example', 22, 'me', 'none'],
      ['b', 2222, 'u', 'none'],
      ['c', 22, 'me', 'none'],
    ],
  );
  assert.deepEqual(t.asked, [
    ['c', 'a,u@b:2222'],
    ['b', 'a'],
    ['a', undefined],
    ['bastion', undefined],
  ]);
  assert.deepEqual(await resolveJumpRoute('none', origin, t.resolve), []);
});

test('only the first hop keeps a ProxyCommand', async () => {
  const t = table({ a: { proxyCommand: 'nc %h %p' }, b: { proxyCommand: 'never' } });
  const route = await resolveJumpRoute('a,b', origin, t.resolve);
  assert.equal(route[0]!.proxyCommand, 'nc %h %p');
  assert.equal(route[1]!.proxyCommand, undefined);
});

test("ssh's loop check: the last hop as typed is the connection itself (name, port, user)", async () => {
  const t = table({});
  await assert.rejects(resolveJumpRoute('target', origin, t.resolve), /jumphost loop via target/);
  await assert.rejects(resolveJumpRoute('me@target:22', origin, t.resolve), /jumphost loop via target/);
  // Another port or user is another connection.
  assert.equal((await resolveJumpRoute('target:2222', origin, t.resolve)).length, 1);
  assert.equal((await resolveJumpRoute('other@target', origin, t.resolve)).length, 1);
  // A hop whose own ProxyJump names itself.
  await assert.rejects(resolveJumpRoute('self', origin, table({ self: { proxyJump: 'self' } }).resolve), /jumphost loop via self/);
});

test('a loop ssh does not see (two hops naming each other) stops at MAX_JUMP_HOPS; bad strings are refused', async () => {
  const t = table({ r1: { port: 2201, proxyJump: 'r2' }, r2: { port: 2202, proxyJump: 'r1' } });
  await assert.rejects(resolveJumpRoute('r1', origin, t.resolve), new RegExp(`more than ${MAX_JUMP_HOPS} hops`));
  assert.equal(t.asked.length, MAX_JUMP_HOPS);
  const long = Array.from({ length: MAX_JUMP_HOPS }, (_, i) => `h${i}`).join(',');
  assert.equal((await resolveJumpRoute(long, origin, table({}).resolve)).length, MAX_JUMP_HOPS);
  await assert.rejects(resolveJumpRoute(`${long},one-more`, origin, table({}).resolve), /more than/);
  await assert.rejects(resolveJumpRoute('a,,b', origin, table({}).resolve), /empty hop/);
  await assert.rejects(resolveJumpRoute('a:99999', origin, table({}).resolve), /bad port/);
});

test("hopCommandLine: the hop's user, port and earlier hops first; the destination's own keywords left out", () => {
  const lines = ['IdentityFile /k', 'User root', 'Port=2222', 'ProxyJump j', 'LocalForward 1 h:2', 'UserKnownHostsFile=/kh', 'HostName x', 'LogLevel DEBUG1', 'ForwardAgent yes', 'RemoteCommand ls'];
  assert.deepEqual(hopCommandLine(lines, { host: 'h', username: 'u', port: 2200 }, 'a,b'), ['User u', 'Port 2200', 'ProxyJump a,b', 'IdentityFile /k', 'UserKnownHostsFile=/kh', 'LogLevel DEBUG1']);
  assert.deepEqual(hopCommandLine(lines, { host: 'h' }, undefined), ['IdentityFile /k', 'UserKnownHostsFile=/kh', 'LogLevel DEBUG1']);
  assert.equal(lineKeyword('  Ciphers=aes128-ctr'), 'ciphers');
  assert.equal(lineKeyword(''), '');
});

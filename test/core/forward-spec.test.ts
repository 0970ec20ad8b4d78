// Forwarding specs (-L -R -D -W and the *Forward keywords), read as ssh's
// parse_forward reads them; the bad ones give ssh's own usage message
// (checked against `ssh -G` in test/interop/ssh-config.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { forwardArguments, parseForwardSpec, parseStdioForward, tryParseForward, type ForwardFlag } from '../../src/config/forward-spec.js';
import { ConfigError } from '../../src/errors.js';
import { seededRandom } from '../../src/testing/random.js';

const GOOD: [ForwardFlag, string, unknown][] = [
  ['local', '8080:server:80', { type: 'local', listen: { kind: 'tcp', port: 8080 }, connect: { kind: 'tcp', host: 'server', port: 80 } }],
  ['local', '127.0.0.2:8080:server:80', { type: 'local', listen: { kind: 'tcp', host: '127.0.0.2', port: 8080 }, connect: { kind: 'tcp', host: 'server', port: 80 } }],
  ['local', '*:8080:server:80', { type: 'local', listen: { kind: 'tcp', host: '*', port: 8080 }, connect: { kind: 'tcp', host: 'server', port: 80 } }],
  ['local', ':8080:server:80', { type: 'local', listen: { kind: 'tcp', host: '', port: 8080 }, connect: { kind: 'tcp', host: 'server', port: 80 } }],
  ['local', '[::1]:8080:[fe80::1]:80', { type: 'local', listen: { kind: 'tcp', host: '::1', port: 8080 }, connect: { kind: 'tcp', host: 'fe80::1', port: 80 } }],
  ['local', '8080:/run/remote.sock', { type: 'local', listen: { kind: 'tcp', port: 8080 }, connect: { kind: 'unix', path: '/run/remote.sock' } }],
  ['local', 'lo:8080:/run/remote.sock', { type: 'local', listen: { kind: 'tcp', host: 'lo', port: 8080 }, connect: { kind: 'unix', path: '/run/remote.sock' } }],
  ['local', '/tmp/l.sock:server:80', { type: 'local', listen: { kind: 'unix', path: '/tmp/l.sock' }, connect: { kind: 'tcp', host: 'server', port: 80 } }],
  ['local', '/tmp/l.sock:/run/r.sock', { type: 'local', listen: { kind: 'unix', path: '/tmp/l.sock' }, connect: { kind: 'unix', path: '/run/r.sock' } }],
  ['local', '  8080:h:80:', { type: 'local', listen: { kind: 'tcp', port: 8080 }, connect: { kind: 'tcp', host: 'h', port: 80 } }],
  ['local', '8080:we\\:ird:80', { type: 'local', listen: { kind: 'tcp', port: 8080 }, connect: { kind: 'tcp', host: 'we:ird', port: 80 } }],
  ['remote', '0:localhost:22', { type: 'remote', listen: { kind: 'tcp', port: 0 }, connect: { kind: 'tcp', host: 'localhost', port: 22 } }],
  ['remote', '/tmp/r.sock:localhost:22', { type: 'remote', listen: { kind: 'unix', path: '/tmp/r.sock' }, connect: { kind: 'tcp', host: 'localhost', port: 22 } }],
  ['remote', '9000', { type: 'remote-dynamic', listen: { kind: 'tcp', port: 9000 } }],
  ['remote', '0', { type: 'remote-dynamic', listen: { kind: 'tcp', port: 0 } }],
  ['remote', '*:9000', { type: 'remote-dynamic', listen: { kind: 'tcp', host: '*', port: 9000 } }],
  ['dynamic', '1080', { type: 'dynamic', listen: { kind: 'tcp', port: 1080 } }],
  ['dynamic', '[::1]:1080', { type: 'dynamic', listen: { kind: 'tcp', host: '::1', port: 1080 } }],
  ['dynamic', '/tmp/socks.sock', { type: 'dynamic', listen: { kind: 'unix', path: '/tmp/socks.sock' } }],
];

const BAD: [ForwardFlag, string][] = [
  ['local', '8080'],
  ['local', '0:h:80'],
  ['local', '8080:h:0'],
  ['local', '8080:h:99999'],
  ['local', '8080:h'],
  ['local', 'x:8080:h:80:extra'],
  ['local', '[::1:8080:h:80'],
  ['local', '[::1]x:8080:h:80'],
  ['local', '8080:h:80\\'],
  ['local', ''],
  ['local', `8080:${'h'.repeat(1025)}:80`],
  ['local', `8080:/${'p'.repeat(107)}`],
  ['remote', 'x:y'],
  ['remote', '1:2:3:4:5'],
  ['dynamic', 'a:b:c'],
  ['dynamic', '0'],
  ['dynamic', 'http'],
];

test('good specs: fields by count and by which are paths, brackets and escapes', () => {
  for (const [flag, spec, want] of GOOD) assert.deepEqual(parseForwardSpec(spec, flag), want, `${flag} ${spec}`);
});

test("bad specs: ConfigError with ssh's usage message", () => {
  for (const [flag, spec] of BAD) {
    assert.equal(tryParseForward(spec, flag), null, `${flag} ${spec}`);
    assert.throws(
      () => parseForwardSpec(spec, flag),
      (e: unknown) => e instanceof ConfigError && e.message === `Bad ${flag} forwarding specification '${spec}'` && e.file === undefined,
    );
  }
});

test('${VAR} is expanded; an unset one fails', () => {
  assert.deepEqual(parseForwardSpec('${P}:h:80', 'local', { P: '8080' }).listen, { kind: 'tcp', port: 8080 });
  assert.deepEqual(parseForwardSpec('8080:${D}/x.sock', 'local', { D: '/run' }), { type: 'local', listen: { kind: 'tcp', port: 8080 }, connect: { kind: 'unix', path: '/run/x.sock' } });
  assert.equal(tryParseForward('${NOPE}:h:80', 'local', {}), null);
  assert.equal(tryParseForward('${P:h:80', 'local', { P: '1' }), null);
});

test('-W host:port and -W /path', () => {
  assert.deepEqual(parseStdioForward('server:22'), { kind: 'tcp', host: 'server', port: 22 });
  assert.deepEqual(parseStdioForward('[::1]:22'), { kind: 'tcp', host: '::1', port: 22 });
  assert.deepEqual(parseStdioForward('/run/s.sock'), { kind: 'unix', path: '/run/s.sock' });
  for (const bad of ['foo', '22', 'h:0', 'a:b:c'])
    assert.throws(() => parseStdioForward(bad), (e: unknown) => e instanceof ConfigError && e.message === `Bad stdio forwarding specification '${bad}'`);
});

test('forwardArguments gives keyword arguments that parse back to the same spec', () => {
  for (const [flag, spec, want] of GOOD) {
    const args = forwardArguments(parseForwardSpec(spec, flag));
    assert.deepEqual(parseForwardSpec(args.join(':'), flag), want, `${flag} ${spec} → ${args.join(' ')}`);
  }
});

test('fuzz: random specs give a spec or ConfigError, never anything else', () => {
  const random = seededRandom('forward-spec');
  const alphabet = '0123456789:[]/\\*.ab ${}';
  for (let i = 0; i < 20000; i++) {
    const bytes = random(1 + (random(1)[0]! % 24));
    const spec = [...bytes].map((b) => alphabet[b % alphabet.length]).join('');
    for (const flag of ['local', 'remote', 'dynamic'] as const) {
      try {
        parseForwardSpec(spec, flag, { a: '1' });
      } catch (e) {
        assert.ok(e instanceof ConfigError, `${flag} ${JSON.stringify(spec)}: ${String(e)}`);
      }
    }
    try {
      parseStdioForward(spec);
    } catch (e) {
      assert.ok(e instanceof ConfigError, String(e));
    }
  }
});

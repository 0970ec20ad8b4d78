import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fingerprintSha256, formatOpenSshPublicKeyLine, generateHostKey } from '../../src/keys/index.js';
import {
  authorizedKeyOptionValues,
  checkKnownHost,
  findAuthorizedKey,
  formatKnownHostLine,
  hashHostName,
  knownHostCertAuthorities,
  knownHostEntryMatches,
  knownHostName,
  matchPattern,
  matchPatternList,
  parseAuthorizedKeys,
  parseExpiryTime,
  parseHashedHostName,
  parseKnownHosts,
} from '../../src/trust/index.js';

const SSH_KEYGEN = '/usr/bin/ssh-keygen';
const haveKeygen = existsSync(SSH_KEYGEN);
if (!haveKeygen) console.warn('!!! trust.test: ssh-keygen not found at /usr/bin/ssh-keygen, SKIPPING the ssh-keygen cross-checks');
const skip = !haveKeygen && 'ssh-keygen missing';

const ed = generateHostKey('ssh-ed25519').publicBlob;
const ed2 = generateHostKey('ssh-ed25519').publicBlob;
const ec = generateHostKey('ecdsa-sha2-nistp256').publicBlob;
const rsa = generateHostKey('ssh-rsa', 2048).publicBlob;
const key = (b: Uint8Array, comment = '') => formatOpenSshPublicKeyLine(b, comment);

function withTempDir<T>(f: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'nacre-trust-'));
  try {
    return f(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ------------------------------------------------------------------ authorized_keys

test('authorized_keys: comments, blank lines, options, quoted values, comments with spaces', () => {
  const text = [
    '# a comment',
    '',
    '   ',
    `${key(ed, 'alice@laptop')}`,
    `command="echo a,b \\"quoted\\" c",no-pty,from="10.0.0.0/8,!10.1.2.3,*.example.com" ${key(ec, 'ci key two words')}`,
    `restrict,pty,environment="LANG=C",environment="TZ=UTC",permitopen="db:5432",permitopen="[::1]:80",permitlisten="8080",expiry-time="20991231" ${key(rsa)}`,
    `  \tcert-authority,principals="alice,bob" ${key(ed2, 'CA')}\r`,
    `NO-AGENT-FORWARDING,No-X11-Forwarding,no-port-forwarding,no-user-rc,no-touch-required,verify-required,tunnel="1" ${key(ed2)}`,
  ].join('\n');
  const { entries, problems } = parseAuthorizedKeys(text, 'authorized_keys');
  assert.deepEqual(problems, []);
  assert.equal(entries.length, 5);
  const [a, b, c, d, e] = entries as [(typeof entries)[0], (typeof entries)[0], (typeof entries)[0], (typeof entries)[0], (typeof entries)[0]];

  assert.equal(a.line, 4);
  assert.equal(a.source, 'authorized_keys');
  assert.equal(a.keyType, 'ssh-ed25519');
  assert.deepEqual(a.blob, ed);
  assert.equal(a.comment, 'alice@laptop');
  assert.equal(a.options.size, 0);
  assert.equal(a.certAuthority, false);

  assert.equal(b.options.get('command'), 'echo a,b "quoted" c');
  assert.equal(b.options.get('no-pty'), true);
  assert.equal(b.options.get('from'), '10.0.0.0/8,!10.1.2.3,*.example.com');
  assert.equal(b.comment, 'ci key two words');
  assert.equal(b.keyType, 'ecdsa-sha2-nistp256');

  assert.equal(c.options.get('restrict'), true);
  assert.equal(c.options.get('environment'), 'LANG=C');
  assert.deepEqual(authorizedKeyOptionValues(c, 'environment'), ['LANG=C', 'TZ=UTC']);
  assert.deepEqual(authorizedKeyOptionValues(c, 'PermitOpen'), ['db:5432', '[::1]:80']);
  assert.equal(c.options.get('permitlisten'), '8080');
  assert.deepEqual(c.expiresAt, new Date(2099, 11, 31));
  assert.equal(c.comment, '');

  assert.equal(d.certAuthority, true);
  assert.equal(d.options.get('principals'), 'alice,bob');
  assert.equal(d.comment, 'CA');
  assert.equal(d.line, 7);

  assert.deepEqual([...e.options.keys()], ['no-agent-forwarding', 'no-x11-forwarding', 'no-port-forwarding', 'no-user-rc', 'no-touch-required', 'verify-required', 'tunnel']);
});

test('authorized_keys: malformed lines are reported with their line number and skipped', () => {
  const good = key(ed, 'ok');
  const b64 = good.split(' ')[1]!;
  const lines: [string, RegExp][] = [
    [`bogus-option ${good}`, /unknown option bogus-option/],
    [`command=echo ${good}`, /double quote/],
    [`command="echo ${good}`, /never closed/],
    [`command="a",command="b" ${good}`, /command appears twice/],
    [`from="a",from="b" ${good}`, /from appears twice/],
    [`no-pty, ${good}`, /unexpected|comma/],
    [`no-pty,${good}`, /unknown option|unexpected/],
    [`environment="NOEQUALS" ${good}`, /NAME=value/],
    [`expiry-time="2024-01-01" ${good}`, /expiry-time/],
    [`expiry-time="20240231" ${good}`, /expiry-time/],
    [`permitopen="nohost" ${good}`, /host:port/],
    [`tunnel="x" ${good}`, /tunnel/],
    [`no-pty`, /no key|options but no key/],
    [`ssh-ed25519`, /no key/],
    [`ssh-ed25519 !!!notbase64`, /base64/],
    [`ssh-rsa ${b64}`, /says ssh-rsa but the key is ssh-ed25519/],
    [`ssh-ed25519 AAAA`, /malformed/],
    [`@cert-authority ${good}`, /cert-authority option/],
    ['x'.repeat(70 * 1024), /longer than/],
  ];
  const text = ['# header', good, ...lines.map(([l]) => l), good].join('\n');
  const { entries, problems } = parseAuthorizedKeys(text);
  assert.equal(entries.length, 2);
  assert.equal(entries[1]!.line, lines.length + 3);
  assert.equal(problems.length, lines.length, JSON.stringify(problems, null, 1));
  lines.forEach(([, reason], i) => {
    assert.equal(problems[i]!.line, i + 3);
    assert.match(problems[i]!.reason, reason, `line ${i + 3}: ${problems[i]!.reason}`);
  });
  assert.doesNotThrow(() => parseAuthorizedKeys('\u0000\uffff"\\\n,,,=\n' + '"'.repeat(1000)));
});

test('findAuthorizedKey compares blobs, keeps CA keys apart, and honours expiry-time', () => {
  const text = [key(ed), `cert-authority ${key(ec)}`, `expiry-time="20200101Z" ${key(rsa)}`, `expiry-time="209901011230Z" ${key(ed2)}`].join('\n');
  const { entries } = parseAuthorizedKeys(text);
  assert.equal(findAuthorizedKey(entries, ed)?.line, 1);
  assert.equal(findAuthorizedKey(entries, ed.slice())?.line, 1);
  assert.equal(findAuthorizedKey(entries, ec), undefined, 'a CA key is not a login key');
  assert.equal(findAuthorizedKey(entries, ec, { certAuthority: true })?.line, 2);
  assert.equal(findAuthorizedKey(entries, ed, { certAuthority: true }), undefined);
  assert.equal(findAuthorizedKey(entries, rsa), undefined, 'expired in 2020');
  assert.equal(findAuthorizedKey(entries, rsa, { now: new Date(Date.UTC(2019, 0, 1)) })?.line, 3);
  assert.equal(findAuthorizedKey(entries, ed2)?.line, 4);
  assert.deepEqual(entries[3]!.expiresAt, new Date(Date.UTC(2099, 0, 1, 12, 30)));
  assert.equal(findAuthorizedKey(entries, ed.subarray(0, ed.length - 1)), undefined);
  assert.equal(findAuthorizedKey(entries, new Uint8Array(0)), undefined);
  assert.deepEqual(parseExpiryTime('20240229235959Z'), new Date(Date.UTC(2024, 1, 29, 23, 59, 59)));
  assert.equal(parseExpiryTime('20230229'), undefined);
});

test('authorized_keys: the keys ssh-keygen -l finds are the keys we find', { skip }, () => {
  withTempDir((dir) => {
    const text = [
      `# comment`,
      key(ed, 'plain'),
      `command="echo a b",no-pty ${key(ec, 'with options')}`,
      `restrict,from="*.example.com" ${key(rsa)}`,
      `environment="A=b c" ${key(ed2, 'env')}`,
    ].join('\n');
    const path = join(dir, 'authorized_keys');
    writeFileSync(path, text + '\n');
    const listed = execFileSync(SSH_KEYGEN, ['-l', '-E', 'sha256', '-f', path], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .map((l) => l.split(' ')[1]);
    const ours = parseAuthorizedKeys(text).entries.map((e) => fingerprintSha256(e.blob));
    assert.deepEqual(ours, listed);
  });
});

// ------------------------------------------------------------------ known_hosts

test('glob patterns and pattern lists', () => {
  assert.ok(matchPattern('a.example.com', '*.example.com'));
  assert.ok(!matchPattern('example.com', '*.example.com'));
  assert.ok(matchPattern('10.0.0.5', '10.0.0.?'));
  assert.ok(!matchPattern('10.0.0.55', '10.0.0.?'));
  assert.ok(matchPattern('', '*'));
  assert.ok(matchPattern('abc', 'a*b*c*'));
  assert.ok(!matchPattern('abd', 'a*c'));
  assert.ok(matchPattern('[h]:2222', '[*]:2222'));
  // pathological pattern stays quick
  const t0 = performance.now();
  assert.ok(!matchPattern('a'.repeat(5000), '*a*a*a*a*a*a*a*a*b'));
  assert.ok(performance.now() - t0 < 500);
  assert.equal(matchPatternList('A.Example.com', '*.example.com,!bad.example.com'), 1);
  assert.equal(matchPatternList('bad.example.com', '*.example.com,!bad.example.com'), -1);
  assert.equal(matchPatternList('bad.example.com', '!bad.example.com'), -1);
  assert.equal(matchPatternList('other.org', '*.example.com,!bad.example.com'), 0);
  assert.equal(knownHostName('Example.COM', 22), 'example.com');
  assert.equal(knownHostName('example.com', 2222), '[example.com]:2222');
  assert.equal(knownHostName('::1', 2222), '[::1]:2222');
});

test('hashed host names: HMAC-SHA1 of the name, salt and hash in base64', () => {
  const salt = new Uint8Array(20).map((_, i) => i);
  const h = hashHostName('example.com', salt);
  const expected = createHmac('sha1', salt).update('example.com').digest('base64');
  assert.equal(h, `|1|${Buffer.from(salt).toString('base64')}|${expected}`);
  assert.deepEqual(parseHashedHostName(h)?.salt, salt);
  assert.notEqual(hashHostName('example.com'), hashHostName('example.com'), 'fresh salt each time');
  assert.equal(parseHashedHostName('|1|AAAA|BBBB'), undefined);
  assert.equal(parseHashedHostName('|2|' + h.slice(3)), undefined);
  assert.throws(() => hashHostName('x', new Uint8Array(8)), RangeError);
});

test('known_hosts: markers, ports, hashed entries, negation, and every check status', () => {
  const text = [
    '# known hosts',
    `*.example.com,!bad.example.com ${key(ed)}`,
    `[git.example.org]:2222,10.0.0.? ${key(ec)}`,
    `multi.example.net ${key(ed)}`,
    `multi.example.net ${key(rsa)}`,
    formatKnownHostLine('hashed.example.net', 22, ed2, { hash: true }),
    formatKnownHostLine('hashed.example.net', 2200, ed, { hash: true, comment: 'on a port' }),
    `@revoked * ${key(rsa, 'leaked')}`,
    `@cert-authority *.corp ${key(ec, 'corp CA')}`,
    '',
  ].join('\n');
  const { entries, problems } = parseKnownHosts(text, 'known_hosts');
  assert.deepEqual(problems, []);
  assert.equal(entries.length, 8);
  assert.equal(entries[6]!.marker, 'revoked');
  assert.equal(entries[7]!.marker, 'cert-authority');
  assert.equal(entries[5]!.comment, 'on a port');
  assert.ok(entries[4]!.hashed);

  const check = (host: string, port: number, blob: Uint8Array) => checkKnownHost(entries, host, port, blob);
  assert.equal(check('www.example.com', 22, ed).status, 'match');
  assert.equal(check('www.example.com', 22, ed).entry?.line, 2);
  assert.equal(check('WWW.Example.Com', 22, ed).status, 'match');
  assert.equal(check('bad.example.com', 22, ed).status, 'unknown', 'negated');
  assert.equal(check('www.example.com', 2222, ed).status, 'unknown', 'other port');
  assert.equal(check('git.example.org', 2222, ec).status, 'match');
  assert.equal(check('git.example.org', 22, ec).status, 'unknown');
  assert.equal(check('10.0.0.7', 22, ec).status, 'match');

  const changed = check('www.example.com', 22, ed2);
  assert.equal(changed.status, 'mismatch');
  assert.equal(changed.entry?.line, 2);
  assert.deepEqual(changed.otherKeys?.map((e) => e.line), [2]);
  // a key of another type than the known one is still a mismatch by default...
  const otherType = check('www.example.com', 22, ec);
  assert.equal(otherType.status, 'mismatch');
  // ...and "unknown, but other keys are known" with OpenSSH's rule
  const relaxed = checkKnownHost(entries, 'www.example.com', 22, ec, { sameTypeOnly: true });
  assert.equal(relaxed.status, 'unknown');
  assert.deepEqual(relaxed.otherKeys?.map((e) => e.line), [2]);
  assert.equal(checkKnownHost(entries, 'www.example.com', 22, ed2, { sameTypeOnly: true }).status, 'mismatch');

  const multi = check('multi.example.net', 22, ed);
  assert.equal(multi.status, 'match');
  assert.equal(multi.entry?.line, 4);
  assert.deepEqual(multi.otherKeys?.map((e) => e.line), [5]);

  assert.equal(check('hashed.example.net', 22, ed2).status, 'match');
  assert.equal(check('HASHED.example.net', 22, ed2).status, 'match');
  assert.equal(check('hashed.example.net', 2200, ed).status, 'match');
  assert.equal(check('hashed.example.net', 22, ed).status, 'mismatch');
  assert.equal(check('hashed.example.org', 22, ed2).status, 'unknown');

  // @revoked wins even where the key is otherwise trusted
  const revoked = check('multi.example.net', 22, rsa);
  assert.equal(revoked.status, 'revoked');
  assert.equal(revoked.entry?.comment, 'leaked');
  assert.equal(check('anything.at.all', 22, rsa).status, 'revoked');

  // a CA line is not a host key
  assert.equal(check('build.corp', 22, ec).status, 'unknown');
  assert.deepEqual(knownHostCertAuthorities(entries, 'build.corp', 22).map((e) => e.line), [9]);
  assert.deepEqual(knownHostCertAuthorities(entries, 'build.corp', 2222), []);

  assert.equal(check('nowhere', 22, new Uint8Array([1, 2, 3])).status, 'unknown');
});

test('formatKnownHostLine round-trips', () => {
  const plain = formatKnownHostLine('Example.com', 22, ed, { comment: 'c' });
  assert.equal(plain, `example.com ${key(ed, 'c')}`);
  assert.equal(formatKnownHostLine('::1', 2222, ec), `[::1]:2222 ${key(ec)}`);
  assert.equal(formatKnownHostLine('h', 22, rsa, { marker: 'revoked' }), `@revoked h ${key(rsa)}`);
  const hashed = formatKnownHostLine('h.example', 2022, ed, { hash: true });
  assert.match(hashed, /^\|1\|[A-Za-z0-9+/]{27}=\|[A-Za-z0-9+/]{27}= ssh-ed25519 /);
  const entries = parseKnownHosts([plain, hashed].join('\n')).entries;
  assert.equal(checkKnownHost(entries, 'example.com', 22, ed).status, 'match');
  assert.equal(checkKnownHost(entries, 'h.example', 2022, ed).status, 'match');
  assert.equal(checkKnownHost(entries, 'h.example', 22, ed).status, 'unknown');
  assert.throws(() => formatKnownHostLine('a b', 22, ed), RangeError);
  assert.throws(() => formatKnownHostLine('a,b', 22, ed), RangeError);
});

test('known_hosts: malformed lines are reported and skipped', () => {
  const good = `host ${key(ed)}`;
  const lines: [string, RegExp][] = [
    [`@bogus host ${key(ed)}`, /unknown marker "@bogus"/],
    ['@revoked', /nothing after/],
    ['justahost', /no key/],
    [`host ssh-ed25519`, /no key/],
    [`host ssh-ed25519 ###`, /base64/],
    [`|1|abc|def ${key(ed)}`, /hashed/],
    [`|1|${Buffer.alloc(20).toString('base64')}|${Buffer.alloc(19).toString('base64')} ${key(ed)}`, /hashed/],
    [`a,,b ${key(ed)}`, /empty host pattern/],
    [`host ssh-rsa ${key(ed).split(' ')[1]}`, /says ssh-rsa/],
    // the old SSH-1 "bits exponent modulus" form
    ['host 1024 35 1234567890', /base64|malformed/],
  ];
  const { entries, problems } = parseKnownHosts([good, ...lines.map(([l]) => l), '  # indented comment', good].join('\r\n'));
  assert.equal(entries.length, 2);
  assert.equal(problems.length, lines.length, JSON.stringify(problems, null, 1));
  lines.forEach(([, re], i) => {
    assert.equal(problems[i]!.line, i + 2);
    assert.match(problems[i]!.reason, re, problems[i]!.reason);
  });
});

test('known_hosts: the lines ssh-keygen -F finds are the lines we match, before and after ssh-keygen -H', { skip }, () => {
  withTempDir((dir) => {
    const path = join(dir, 'known_hosts');
    const text = [
      `*.example.com,!bad.example.com ${key(ed)}`,
      `[git.example.org]:2222,10.0.0.? ${key(ec)}`,
      `Mixed.Case.Host ${key(ed)}`,
      `@revoked * ${key(rsa)}`,
      `plain.host,other.host,[plain.host]:2022 ${key(ed2)}`,
      `@cert-authority *.corp ${key(ec)}`,
      `[*.wild]:* ${key(ed)}`,
    ].join('\n');
    writeFileSync(path, text + '\n');
    const hosts = [
      'a.example.com', 'bad.example.com', '[git.example.org]:2222', 'git.example.org', '10.0.0.5', '10.0.0.55',
      'mixed.case.host', 'plain.host', 'other.host', '[plain.host]:2022', '[other.host]:2022', 'x.corp', '[a.wild]:99', 'a.wild', 'nowhere',
    ];
    const keygenLines = (host: string): number[] => {
      // exits 1 when nothing matches
      const out = spawnSync(SSH_KEYGEN, ['-F', host, '-f', path], { encoding: 'utf8' }).stdout;
      return [...out.matchAll(/^# Host \S+ found: line (\d+)/gm)].map((m) => Number(m[1]));
    };
    const oursFor = (content: string, host: string): number[] =>
      parseKnownHosts(content)
        .entries.filter((e) => knownHostEntryMatches(e, host))
        .map((e) => e.line);
    for (const host of hosts) assert.deepEqual(oursFor(text, host), keygenLines(host), host);

    // ssh-keygen -H rewrites every plain name as its own hashed line
    execFileSync(SSH_KEYGEN, ['-H', '-f', path], { stdio: 'ignore' });
    const hashed = readFileSync(path, 'utf8');
    assert.match(hashed, /^\|1\|/m);
    const { entries, problems } = parseKnownHosts(hashed);
    assert.deepEqual(problems, []);
    for (const host of hosts) assert.deepEqual(oursFor(hashed, host), keygenLines(host), `hashed: ${host}`);
    assert.equal(checkKnownHost(entries, 'plain.host', 22, ed2).status, 'match');
    assert.equal(checkKnownHost(entries, 'plain.host', 2022, ed2).status, 'match');
    assert.equal(checkKnownHost(entries, 'Mixed.Case.Host', 22, ed).status, 'match');
    assert.equal(checkKnownHost(entries, 'plain.host', 22, ed).status, 'mismatch');
    assert.equal(checkKnownHost(entries, 'plain.host', 22, rsa).status, 'revoked');

    // and ssh-keygen -F finds the hashed lines we write
    const ours = [formatKnownHostLine('ours.example', 22, ed, { hash: true }), formatKnownHostLine('ours.example', 2200, ec, { hash: true })].join('\n');
    writeFileSync(path, ours + '\n');
    assert.deepEqual(keygenLines('ours.example'), [1]);
    assert.deepEqual(keygenLines('[ours.example]:2200'), [2]);
    assert.deepEqual(keygenLines('other.example'), []);
  });
});

// The per-source penalty table (OpenSSH's PerSourcePenalties) with time passed
// in: each kind, accumulation to max, the min threshold, expiry, overflow
// modes, the exempt list, credit, and bounded memory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_PER_SOURCE_PENALTIES,
  PENALISED_SOURCE,
  PENALTY_TABLE_FULL,
  PenaltyTable,
  type PenaltyKind,
} from '../../src/core/admission/penalties.js';
import { AddressList, addressBlock, parseIpAddress } from '../../src/core/admission/address.js';

const S = 1000;

test('defaults are sshd -T\'s', () => {
  const d = DEFAULT_PER_SOURCE_PENALTIES;
  assert.deepEqual(
    [d.crash, d.authfail, d.noauth, d.graceExceeded, d.refuseConnection, d.max, d.min, d.maxSources4, d.maxSources6, d.overflow],
    [90 * S, 5 * S, 1 * S, 10 * S, 10 * S, 600 * S, 15 * S, 65536, 65536, 'permissive'],
  );
});

test('each kind adds its own time; refused once min is held, until it runs out', () => {
  const cases: [PenaltyKind, number][] = [
    ['crash', 90],
    ['authfail', 5],
    ['noauth', 1],
    ['grace-exceeded', 10],
    ['refuseconnection', 10],
  ];
  for (const [kind, seconds] of cases) {
    const t = new PenaltyTable({ penalties: { min: 0, credit: 0 } });
    t.penalise('192.0.2.1', kind, 0);
    assert.equal(t.remaining('192.0.2.1', 0), seconds * S, kind);
    const v = t.check('192.0.2.1', 0);
    assert.equal(v.verdict, 'refuse', kind);
    assert.equal(v.verdict === 'refuse' && v.reason, PENALISED_SOURCE);
    assert.equal(t.check('192.0.2.1', seconds * S - 1).verdict, 'refuse', kind);
    assert.equal(t.check('192.0.2.1', seconds * S).verdict, 'accept', `${kind} expired`);
    assert.equal(t.size.penalties4, 0, 'an expired penalty is dropped when met');
  }
});

test('below min a penalty is recorded but not enforced; accumulated past min it is', () => {
  const t = new PenaltyTable();
  t.penalise('192.0.2.1', 'authfail', 0); // 5 s < 15 s
  assert.equal(t.check('192.0.2.1', 0).verdict, 'accept');
  t.penalise('192.0.2.1', 'authfail', 1 * S); // 9 s left... + 5
  assert.equal(t.remaining('192.0.2.1', 1 * S), 9 * S);
  assert.equal(t.check('192.0.2.1', 1 * S).verdict, 'accept');
  t.penalise('192.0.2.1', 'authfail', 2 * S); // 8 + 5 = 13
  t.penalise('192.0.2.1', 'noauth', 2 * S); // 14
  assert.equal(t.check('192.0.2.1', 2 * S).verdict, 'accept');
  t.penalise('192.0.2.1', 'noauth', 2 * S); // 15 = min
  assert.equal(t.check('192.0.2.1', 2 * S).verdict, 'refuse');
  assert.equal(t.check('192.0.2.2', 2 * S).verdict, 'accept', 'another address is not touched');
  // Once enforced, it stays enforced until it runs out, even below min.
  assert.equal(t.check('192.0.2.1', 16 * S).verdict, 'refuse');
  assert.equal(t.check('192.0.2.1', 17 * S).verdict, 'accept');
});

test('a penalty that expired starts afresh', () => {
  const t = new PenaltyTable();
  t.penalise('192.0.2.1', 'grace-exceeded', 0);
  t.penalise('192.0.2.1', 'grace-exceeded', 11 * S); // the first ran out at 10 s
  assert.equal(t.remaining('192.0.2.1', 11 * S), 10 * S);
  assert.equal(t.check('192.0.2.1', 11 * S).verdict, 'accept');
});

test('penalties add up to max and no further', () => {
  const t = new PenaltyTable({ penalties: { max: 120 * S } });
  for (let i = 0; i < 10; i++) t.penalise('192.0.2.1', 'crash', 0);
  assert.equal(t.remaining('192.0.2.1', 0), 120 * S);
  t.penalise('192.0.2.1', 'crash', 60 * S);
  assert.equal(t.remaining('192.0.2.1', 60 * S), 120 * S, 'max counts from now');
  const one = new PenaltyTable({ penalties: { max: 30 * S } });
  one.penalise('192.0.2.9', 'crash', 0);
  assert.equal(one.remaining('192.0.2.9', 0), 30 * S, 'a single penalty is capped too');
});

test('a zero duration turns that kind off', () => {
  const t = new PenaltyTable({ penalties: { noauth: 0, min: 0 } });
  t.penalise('192.0.2.1', 'noauth', 0);
  assert.equal(t.size.penalties4, 0);
  assert.equal(t.check('192.0.2.1', 0).verdict, 'accept');
});

test('blocks: IPv4 /32 and IPv6 /64 by default, configurable; mapped IPv4 is IPv4', () => {
  const t = new PenaltyTable({ penalties: { min: 0 } });
  t.penalise('2001:db8:1:2::1', 'crash', 0);
  assert.equal(t.check('2001:db8:1:2:ffff::9', 0).verdict, 'refuse', 'same /64');
  assert.equal(t.check('2001:db8:1:3::1', 0).verdict, 'accept', 'next /64');
  t.penalise('::ffff:198.51.100.7', 'crash', 0);
  assert.equal(t.check('198.51.100.7', 0).verdict, 'refuse');
  assert.equal(t.check('198.51.100.8', 0).verdict, 'accept');
  const wide = new PenaltyTable({ penalties: { min: 0 }, netBlockSize: { ipv4: 24, ipv6: 48 } });
  wide.penalise('198.51.100.7', 'crash', 0);
  assert.equal(wide.check('198.51.100.200', 0).verdict, 'refuse', 'same /24');
  assert.equal(wide.check('198.51.101.1', 0).verdict, 'accept');
  wide.penalise('2001:db8:1:2::1', 'crash', 0);
  assert.equal(wide.check('2001:db8:1:ffff::1', 0).verdict, 'refuse', 'same /48');
  assert.equal(addressBlock('198.51.100.7', { ipv4: 24, ipv6: 64 })?.key, '198.51.100.0/24');
  assert.equal(addressBlock('2001:db8:1:2:3:4:5:6')?.key, '2001:db8:1:2:0:0:0:0/64');
  assert.throws(() => new PenaltyTable({ netBlockSize: { ipv4: 33, ipv6: 64 } }), TypeError);
});

test('non-IP sources (a pipe, a label) are never penalised', () => {
  const t = new PenaltyTable({ penalties: { min: 0 } });
  for (const a of [undefined, '', 'pipe', '1.2.3', '1.2.3.4.5', '01.2.3.4', '::1::2', 'g::1']) {
    t.penalise(a, 'crash', 0);
    assert.equal(t.check(a, 0).verdict, 'accept', String(a));
  }
  assert.equal(t.size.penalties4 + t.size.penalties6, 0);
});

test('the exempt list: CIDR, single addresses, wildcards and negation', () => {
  const t = new PenaltyTable({ penalties: { min: 0 }, exempt: ['10.0.0.0/8,192.0.2.7', '2001:db8::/32', '198.51.100.*', '!10.9.9.9'] });
  for (const a of ['10.1.2.3', '192.0.2.7', '2001:db8:ffff::1', '198.51.100.42', '::ffff:10.0.0.1']) {
    assert.ok(t.isExempt(a), a);
    t.penalise(a, 'crash', 0);
    assert.equal(t.check(a, 0).verdict, 'accept', a);
  }
  for (const a of ['192.0.2.8', '10.9.9.9', '2001:db9::1']) {
    assert.ok(!t.isExempt(a), a);
    t.penalise(a, 'crash', 0);
    assert.equal(t.check(a, 0).verdict, 'refuse', a);
  }
  const globs = new AddressList(['2001:db8::*', 'fe80::?']);
  assert.ok(globs.matches('2001:0DB8:0:0::12'), 'IPv6 is matched in its canonical form');
  assert.ok(globs.matches('fe80::1%eth0'));
  assert.ok(!globs.matches('fe80::12'));
  assert.ok(!globs.matches('2001:db9::1'));
  for (const bad of ['192.0.2.0/33', '192.0.2.0/8', 'example.com', '2001:db8::/129', '1.2.3.4/x', '/24', '!']) {
    assert.throws(() => new AddressList([bad]), TypeError, bad);
  }
});

test('credit: a block someone logged in from is on probation, not refused', () => {
  const t = new PenaltyTable({ penalties: { min: 0, credit: 60 * S } });
  t.credit('192.0.2.1', 0);
  t.penalise('192.0.2.1', 'crash', 1 * S);
  assert.equal(t.check('192.0.2.1', 1 * S).verdict, 'probation');
  assert.equal(t.check('192.0.2.1', 61 * S).verdict, 'refuse', 'credit ran out');
  t.credit('192.0.2.1', 62 * S);
  assert.equal(t.check('192.0.2.1', 62 * S).verdict, 'probation', 'renewed by another login');
  const sshd = new PenaltyTable({ penalties: { min: 0, credit: 0 } });
  sshd.credit('192.0.2.1', 0);
  sshd.penalise('192.0.2.1', 'crash', 0);
  assert.equal(sshd.check('192.0.2.1', 0).verdict, 'refuse', 'credit 0 is sshd\'s behaviour');
  assert.equal(sshd.size.credits4, 0);
});

test('overflow permissive: a full table forgets the penalty closest to expiry', () => {
  const t = new PenaltyTable({ penalties: { min: 0, maxSources4: 3 } });
  t.penalise('192.0.2.1', 'authfail', 0); // ends at 5 s
  t.penalise('192.0.2.2', 'crash', 0);
  t.penalise('192.0.2.3', 'crash', 0);
  t.penalise('192.0.2.4', 'crash', 0);
  assert.equal(t.size.penalties4, 3);
  assert.equal(t.check('192.0.2.1', 0).verdict, 'accept', 'the soonest to end made room');
  assert.equal(t.check('192.0.2.4', 0).verdict, 'refuse');
  assert.equal(t.check('192.0.2.99', 0).verdict, 'accept', 'others are let in');
});

test('overflow deny-all: a full table refuses every new connection of that family until one expires', () => {
  const t = new PenaltyTable({ penalties: { min: 0, maxSources4: 2, maxSources6: 2, overflow: 'deny-all', overflow6: 'permissive' }, exempt: ['192.0.2.200'] });
  t.penalise('192.0.2.1', 'authfail', 0);
  t.penalise('192.0.2.2', 'crash', 0);
  t.penalise('192.0.2.3', 'crash', 0); // no room: not recorded
  assert.equal(t.size.penalties4, 2);
  const v = t.check('192.0.2.99', 0);
  assert.equal(v.verdict, 'refuse');
  assert.equal(v.verdict === 'refuse' && v.reason, PENALTY_TABLE_FULL);
  assert.equal(v.verdict === 'refuse' && v.remainingMs, 5 * S);
  assert.equal(t.check('192.0.2.200', 0).verdict, 'accept', 'exempt');
  assert.equal(t.check('2001:db8::1', 0).verdict, 'accept', 'IPv6 is counted apart');
  assert.equal(t.check('192.0.2.99', 5 * S).verdict, 'accept', 'a penalty expired: room again');
  // IPv6 permissive in the same table.
  for (let i = 1; i <= 5; i++) t.penalise(`2001:db8:${i}::1`, 'crash', 0);
  assert.equal(t.size.penalties6, 2);
  assert.equal(t.check('2001:db8:99::1', 0).verdict, 'accept');
});

test('memory is bounded whatever arrives: penalties and credits', () => {
  const t = new PenaltyTable({ penalties: { maxSources4: 100, maxSources6: 50 } });
  for (let i = 0; i < 5000; i++) {
    const v4 = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    const v6 = `2001:db8:${i.toString(16)}::1`;
    t.penalise(v4, 'crash', i);
    t.penalise(v6, 'noauth', i);
    t.credit(v4, i);
    t.credit(v6, i);
  }
  assert.deepEqual(t.size, { penalties4: 100, penalties6: 50, credits4: 100, credits6: 50 });
  t.sweep(1e9);
  assert.deepEqual(t.size, { penalties4: 0, penalties6: 0, credits4: 0, credits6: 0 });
});

test('bad settings are TypeErrors', () => {
  for (const p of [{ crash: -1 }, { min: NaN }, { maxSources4: 0 }, { maxSources6: 1.5 }, { overflow: 'drop' as 'permissive' }]) {
    assert.throws(() => new PenaltyTable({ penalties: p }), TypeError, JSON.stringify(p));
  }
});

test('address parsing: random and mangled text gives an address or null, never a throw', () => {
  assert.deepEqual([...parseIpAddress('::ffff:1.2.3.4')!.bytes], [1, 2, 3, 4]);
  assert.equal(parseIpAddress('fe80::1%eth0')?.family, 6);
  assert.equal(parseIpAddress('1:2:3:4:5:6:7:8')?.family, 6);
  assert.equal(parseIpAddress('1:2:3:4:5:6:7:8:9'), null);
  assert.equal(parseIpAddress('1::2:3:4:5:6:7:8'), null);
  const alphabet = '0123456789abcdefABCDEFxg.:%/!* ';
  let seed = 7;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  for (let i = 0; i < 5000; i++) {
    let s = '';
    for (let n = rnd(48); n > 0; n--) s += alphabet[rnd(alphabet.length)];
    const a = parseIpAddress(s);
    assert.ok(a === null || a.bytes.length === (a.family === 4 ? 4 : 16), s);
    try {
      new AddressList([s]);
    } catch (e) {
      assert.ok(e instanceof TypeError, s);
    }
  }
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, getDiffieHellman } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dhKeyPair } from '../../src/crypto/dh.js';
import { KeyExchangeError, ProtocolError } from '../../src/errors.js';
import { kexAlgorithms, findKex, chooseGexGroup } from '../../src/algorithms/kex/index.js';
import { GEX_GROUPS, MODP_2048, MODP_3072, MODP_4096, MODP_6144, MODP_8192, OAKLEY_GROUP_2 } from '../../src/algorithms/kex/groups.js';
import { findHostKeyAlgorithm } from '../../src/algorithms/hostkey.js';
import type { KexAlgorithm, KexContext, KexOutcome, RandomSource, Signer } from '../../src/algorithms/types.js';
import { generateHostKey } from '../../src/keys/index.js';
import {
  KexDhInit,
  KexDhReply,
  KexEcdhInit,
  KexEcdhReply,
  KexGexGroup,
  KexGexInit,
  KexGexReply,
  KexGexRequest,
  KexInit,
} from '../../src/messages/transport.js';
import { Writer } from '../../src/wire/writer.js';
import { fromHex, toHex } from '../../src/wire/bytes.js';

/** SHA-256 counter DRBG: deterministic bytes for a seed. */
function seededRandom(seed: string): RandomSource {
  let counter = 0;
  let pool = new Uint8Array(0);
  return (n) => {
    const out = new Uint8Array(n);
    let o = 0;
    while (o < n) {
      if (pool.length === 0) {
        pool = new Uint8Array(createHash('sha256').update(seed).update(String(counter++)).digest());
      }
      const take = Math.min(pool.length, n - o);
      out.set(pool.subarray(0, take), o);
      pool = pool.subarray(take);
      o += take;
    }
    return out;
  };
}

function kexInit(tag: string): Uint8Array {
  const names = (s: string) => [s];
  return KexInit.encode({
    cookie: new Uint8Array(16).fill(tag.length),
    kexAlgorithms: names('curve25519-sha256'),
    serverHostKeyAlgorithms: names('ssh-ed25519'),
    ciphersClientToServer: names('aes128-ctr'),
    ciphersServerToClient: names('aes128-ctr'),
    macsClientToServer: names('hmac-sha2-256'),
    macsServerToClient: names('hmac-sha2-256'),
    compressionClientToServer: names('none'),
    compressionServerToClient: names('none'),
    languagesClientToServer: [],
    languagesServerToClient: [],
    firstKexPacketFollows: false,
    reserved: 0,
  });
}

const I_C = kexInit('client');
const I_S = kexInit('server!');

function contexts(seed: string, hostKey: Signer, hostKeyAlgorithm: string, extra: Partial<KexContext> = {}) {
  const base = { clientVersion: 'SSH-2.0-NacreTest_1.0', serverVersion: 'SSH-2.0-OpenSSH_10.0', clientKexInit: I_C, serverKexInit: I_S };
  const client: KexContext = { ...base, random: seededRandom(seed + '/client'), ...extra };
  const server: KexContext = { ...base, random: seededRandom(seed + '/server'), hostKey, hostKeyAlgorithm };
  return { client, server };
}

interface Run {
  client: KexOutcome;
  server: KexOutcome;
  /** Every payload, in the order sent. */
  transcript: Uint8Array[];
}

/** Wires a client and a server exchange together in memory. */
function runKex(kex: KexAlgorithm, ctxs: { client: KexContext; server: KexContext }): Run {
  const c = kex.createClient(ctxs.client);
  const s = kex.createServer(ctxs.server);
  const transcript: Uint8Array[] = [];
  let toServer = [...c.start().send];
  let toClient = [...s.start().send];
  let client: KexOutcome | undefined;
  let server: KexOutcome | undefined;
  for (let round = 0; round < 10 && !(client && server); round++) {
    const nextToClient: Uint8Array[] = [];
    const nextToServer: Uint8Array[] = [];
    for (const m of toServer) {
      transcript.push(m);
      const step = s.handle(m);
      nextToClient.push(...step.send);
      if (step.outcome) server = step.outcome;
    }
    for (const m of toClient) {
      transcript.push(m);
      const step = c.handle(m);
      nextToServer.push(...step.send);
      if (step.outcome) client = step.outcome;
    }
    toServer = nextToServer;
    toClient = nextToClient;
  }
  assert.ok(client && server, `${kex.name}: exchange did not finish`);
  return { client, server, transcript };
}

const hashLength = { sha1: 20, sha256: 32, sha384: 48, sha512: 64 } as const;
const ed25519 = generateHostKey('ssh-ed25519');

for (const kex of kexAlgorithms) {
  test(`${kex.name}: client and server agree, signature verifies, deterministic`, () => {
    const run = runKex(kex, contexts('agree', ed25519, 'ssh-ed25519'));
    assert.equal(toHex(run.client.exchangeHash), toHex(run.server.exchangeHash));
    assert.equal(toHex(run.client.sharedSecret), toHex(run.server.sharedSecret));
    assert.equal(run.client.exchangeHash.length, hashLength[kex.hash]);
    assert.deepEqual(run.client.hostKeyBlob, ed25519.publicBlob);
    assert.ok(findHostKeyAlgorithm('ssh-ed25519')!.verify(run.client.hostKeyBlob, run.client.exchangeHash, run.client.signature));
    if (kex.name.startsWith('mlkem') || kex.name.startsWith('sntrup')) {
      // K is string(HASH(...)): a 4-byte length then the digest
      assert.equal(run.client.sharedSecret.length, 4 + hashLength[kex.hash]);
    }
    const again = runKex(kex, contexts('agree', ed25519, 'ssh-ed25519'));
    assert.equal(toHex(again.client.exchangeHash), toHex(run.client.exchangeHash));
    const other = runKex(kex, contexts('other seed', ed25519, 'ssh-ed25519'));
    assert.notEqual(toHex(other.client.exchangeHash), toHex(run.client.exchangeHash));
  });
}

test('registry: OpenSSH 10 order, legacy last and insecure, lookup by name', () => {
  assert.deepEqual(
    kexAlgorithms.map((k) => k.name),
    [
      'mlkem768x25519-sha256',
      'sntrup761x25519-sha512',
      'sntrup761x25519-sha512@openssh.com',
      'curve25519-sha256',
      'curve25519-sha256@libssh.org',
      'ecdh-sha2-nistp256',
      'ecdh-sha2-nistp384',
      'ecdh-sha2-nistp521',
      'diffie-hellman-group-exchange-sha256',
      'diffie-hellman-group16-sha512',
      'diffie-hellman-group18-sha512',
      'diffie-hellman-group14-sha256',
      'diffie-hellman-group14-sha1',
      'diffie-hellman-group1-sha1',
      'diffie-hellman-group-exchange-sha1',
    ],
  );
  assert.deepEqual(
    kexAlgorithms.filter((k) => !k.secure).map((k) => k.name),
    ['diffie-hellman-group14-sha1', 'diffie-hellman-group1-sha1', 'diffie-hellman-group-exchange-sha1'],
  );
  assert.equal(findKex('curve25519-sha256')?.hash, 'sha256');
  assert.equal(findKex('nope'), undefined);
});

test('MODP primes equal the RFC 2409/3526 groups OpenSSL ships', () => {
  const pairs = [
    [OAKLEY_GROUP_2, 'modp2', 1024],
    [MODP_2048, 'modp14', 2048],
    [MODP_3072, 'modp15', 3072],
    [MODP_4096, 'modp16', 4096],
    [MODP_6144, 'modp17', 6144],
    [MODP_8192, 'modp18', 8192],
  ] as const;
  for (const [group, name, bits] of pairs) {
    assert.equal(toHex(group.prime), getDiffieHellman(name).getPrime('hex'), name);
    assert.equal(group.bits, bits);
    assert.equal(group.generator, 2);
  }
});

test('curve25519: RFC 7748 §6.1 vector gives K, and H matches an independent computation', () => {
  const alicePriv = fromHex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a');
  const bobPriv = fromHex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb');
  const shared = '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742';
  const kex = findKex('curve25519-sha256')!;
  const ctxs = contexts('vector', ed25519, 'ssh-ed25519');
  const run = runKex(kex, { client: { ...ctxs.client, random: () => alicePriv }, server: { ...ctxs.server, random: () => bobPriv } });
  // K = mpint of the 32 bytes read big-endian; the top bit is clear so no sign byte
  assert.equal(toHex(run.client.sharedSecret), '00000020' + shared);
  const init = KexEcdhInit.decode(run.transcript[0]!);
  const reply = KexEcdhReply.decode(run.transcript[1]!);
  assert.equal(toHex(init.clientPublic), '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a');
  assert.equal(toHex(reply.serverPublic), 'de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f');
  const w = new Writer()
    .string(ctxs.client.clientVersion)
    .string(ctxs.client.serverVersion)
    .string(I_C)
    .string(I_S)
    .string(reply.hostKey)
    .string(init.clientPublic)
    .string(reply.serverPublic)
    .raw(run.client.sharedSecret);
  assert.equal(toHex(run.client.exchangeHash), createHash('sha256').update(w.finish()).digest('hex'));
});

test('group exchange: H covers min, n, max, p and g as RFC 4419 §3 says', () => {
  const kex = findKex('diffie-hellman-group-exchange-sha256')!;
  const ctxs = contexts('gex-hash', ed25519, 'ssh-ed25519', { groupSizes: { min: 2048, preferred: 4096, max: 8192 } });
  const run = runKex(kex, ctxs);
  const [req, grp, init, reply] = run.transcript;
  const r = KexGexRequest.decode(req!);
  assert.deepEqual(r, { min: 2048, n: 4096, max: 8192 });
  const g = KexGexGroup.decode(grp!);
  assert.equal(g.p.toString(16), toHex(MODP_4096.prime).replace(/^0+/, ''));
  const e = KexGexInit.decode(init!).e;
  const rep = KexGexReply.decode(reply!);
  const w = new Writer()
    .string(ctxs.client.clientVersion)
    .string(ctxs.client.serverVersion)
    .string(I_C)
    .string(I_S)
    .string(rep.hostKey)
    .uint32(2048)
    .uint32(4096)
    .uint32(8192)
    .mpint(g.p)
    .mpint(g.g)
    .mpint(e)
    .mpint(rep.f)
    .raw(run.client.sharedSecret);
  assert.equal(toHex(run.client.exchangeHash), createHash('sha256').update(w.finish()).digest('hex'));
});

test('fixed DH: H is V_C V_S I_C I_S K_S e f K (RFC 4253 §8)', () => {
  const kex = findKex('diffie-hellman-group14-sha256')!;
  const ctxs = contexts('dh-hash', ed25519, 'ssh-ed25519');
  const run = runKex(kex, ctxs);
  const e = KexDhInit.decode(run.transcript[0]!).e;
  const rep = KexDhReply.decode(run.transcript[1]!);
  const w = new Writer().string(ctxs.client.clientVersion).string(ctxs.client.serverVersion).string(I_C).string(I_S);
  w.string(rep.hostKey).mpint(e).mpint(rep.f).raw(run.client.sharedSecret);
  assert.equal(toHex(run.client.exchangeHash), createHash('sha256').update(w.finish()).digest('hex'));
});

test('server signs with every host key algorithm', () => {
  const kex = findKex('curve25519-sha256')!;
  const rsa = generateHostKey('ssh-rsa', 2048);
  const cases: [Signer, string][] = [
    [ed25519, 'ssh-ed25519'],
    [generateHostKey('ecdsa-sha2-nistp256'), 'ecdsa-sha2-nistp256'],
    [generateHostKey('ecdsa-sha2-nistp384'), 'ecdsa-sha2-nistp384'],
    [generateHostKey('ecdsa-sha2-nistp521'), 'ecdsa-sha2-nistp521'],
    [rsa, 'rsa-sha2-512'],
    [rsa, 'rsa-sha2-256'],
    [rsa, 'ssh-rsa'],
  ];
  for (const [key, alg] of cases) {
    const run = runKex(kex, contexts('hk-' + alg, key, alg));
    assert.ok(findHostKeyAlgorithm(alg)!.verify(run.client.hostKeyBlob, run.client.exchangeHash, run.client.signature), alg);
  }
});

// ------------------------------------------------------------ peer-value validation

function serverGets(kexName: string, payload: Uint8Array): () => void {
  const s = findKex(kexName)!.createServer(contexts('bad', ed25519, 'ssh-ed25519').server);
  s.start();
  return () => void s.handle(payload);
}

function clientGets(kexName: string, reply: (realInit: Uint8Array) => Uint8Array): () => void {
  const c = findKex(kexName)!.createClient(contexts('bad', ed25519, 'ssh-ed25519').client);
  const first = c.start().send[0]!;
  return () => void c.handle(reply(first));
}

const ecdhReply = (serverPublic: Uint8Array) => () => KexEcdhReply.encode({ hostKey: ed25519.publicBlob, serverPublic, signature: new Uint8Array(8) });

test('X25519: all-zero and wrong-length public values are KeyExchangeError', () => {
  for (const name of ['curve25519-sha256', 'curve25519-sha256@libssh.org']) {
    assert.throws(serverGets(name, KexEcdhInit.encode({ clientPublic: new Uint8Array(32) })), KeyExchangeError);
    assert.throws(clientGets(name, ecdhReply(new Uint8Array(32))), KeyExchangeError);
    // small-order point of order 8 (RFC 7748 discussion / libsodium blocklist): shared secret is zero
    const order8 = fromHex('e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800');
    assert.throws(serverGets(name, KexEcdhInit.encode({ clientPublic: order8 })), KeyExchangeError);
    assert.throws(serverGets(name, KexEcdhInit.encode({ clientPublic: new Uint8Array(31).fill(9) })), KeyExchangeError);
    assert.throws(clientGets(name, ecdhReply(new Uint8Array(33).fill(9))), KeyExchangeError);
  }
});

test('NIST ECDH: off-curve, compressed, wrong-length and infinity points are KeyExchangeError', () => {
  for (const [name, len] of [['ecdh-sha2-nistp256', 65], ['ecdh-sha2-nistp384', 97], ['ecdh-sha2-nistp521', 133]] as const) {
    let real: Uint8Array | undefined;
    const good = clientGets(name, (init) => {
      real = KexEcdhInit.decode(init).clientPublic;
      return KexEcdhReply.encode({ hostKey: ed25519.publicBlob, serverPublic: real, signature: new Uint8Array(8) });
    });
    good(); // a valid point is accepted
    assert.equal(real!.length, len);
    const off = real!.slice();
    off[len - 1]! ^= 1;
    assert.throws(serverGets(name, KexEcdhInit.encode({ clientPublic: off })), KeyExchangeError);
    assert.throws(clientGets(name, ecdhReply(off)), KeyExchangeError);
    const compressed = real!.slice(0, 1 + (len - 1) / 2);
    compressed[0] = 2 + (real![len - 1]! & 1);
    assert.throws(serverGets(name, KexEcdhInit.encode({ clientPublic: compressed })), KeyExchangeError);
    assert.throws(serverGets(name, KexEcdhInit.encode({ clientPublic: Uint8Array.of(0) })), KeyExchangeError);
    assert.throws(serverGets(name, KexEcdhInit.encode({ clientPublic: new Uint8Array(len) })), KeyExchangeError);
    assert.throws(serverGets(name, KexEcdhInit.encode({ clientPublic: real!.subarray(0, len - 1) })), KeyExchangeError);
  }
});

test('DH: e and f outside [2, p-2] are KeyExchangeError', () => {
  for (const name of ['diffie-hellman-group14-sha256', 'diffie-hellman-group1-sha1', 'diffie-hellman-group16-sha512']) {
    const group = name.includes('group14') ? MODP_2048 : name.includes('group16') ? MODP_4096 : OAKLEY_GROUP_2;
    const p = BigInt('0x' + toHex(group.prime));
    // Out of range, and (as OpenSSH's dh_pub_is_valid) fewer than 4 bits set: 2^k has a known logarithm.
    for (const bad of [0n, 1n, p - 1n, p, p + 5n, -3n, 2n, 7n, 2n ** 100n, 2n ** 1000n + 2n ** 10n + 1n]) {
      const reply = () => KexDhReply.encode({ hostKey: ed25519.publicBlob, f: bad, signature: new Uint8Array(8) });
      assert.throws(clientGets(name, reply), KeyExchangeError, `${name} f=${bad}`);
      assert.throws(serverGets(name, KexDhInit.encode({ e: bad })), KeyExchangeError, `${name} e=${bad}`);
    }
    // the edges of the allowed range are accepted
    assert.doesNotThrow(serverGets(name, KexDhInit.encode({ e: 15n })));
    assert.doesNotThrow(serverGets(name, KexDhInit.encode({ e: p - 2n })));
  }
});

test('hybrids: wrong lengths and a bad ML-KEM key are KeyExchangeError', () => {
  const cases = [
    ['mlkem768x25519-sha256', 1184 + 32, 1088 + 32],
    ['sntrup761x25519-sha512', 1158 + 32, 1039 + 32],
    ['sntrup761x25519-sha512@openssh.com', 1158 + 32, 1039 + 32],
  ] as const;
  for (const [name, clientLen, serverLen] of cases) {
    for (const n of [0, 32, clientLen - 1, clientLen + 1]) {
      assert.throws(serverGets(name, KexEcdhInit.encode({ clientPublic: new Uint8Array(n).fill(7) })), KeyExchangeError, `${name} client ${n}`);
    }
    for (const n of [0, 32, serverLen - 1, serverLen + 1]) {
      assert.throws(clientGets(name, ecdhReply(new Uint8Array(n).fill(7))), KeyExchangeError, `${name} server ${n}`);
    }
    // right sizes but an all-zero X25519 half
    let initValue: Uint8Array | undefined;
    const c = clientGets(name, (init) => {
      initValue = KexEcdhInit.decode(init).clientPublic;
      return KexEcdhReply.encode({ hostKey: ed25519.publicBlob, serverPublic: new Uint8Array(serverLen), signature: new Uint8Array(8) });
    });
    assert.throws(c, KeyExchangeError);
    const zeroX = initValue!.slice();
    zeroX.fill(0, clientLen - 32);
    assert.throws(serverGets(name, KexEcdhInit.encode({ clientPublic: zeroX })), KeyExchangeError);
  }
  // FIPS 203 §7.2 modulus check: 12-bit coefficients of 0xfff are >= q
  const badKey = new Uint8Array(1184 + 32).fill(0xff);
  badKey.fill(9, 1184);
  assert.throws(serverGets('mlkem768x25519-sha256', KexEcdhInit.encode({ clientPublic: badKey })), KeyExchangeError);
});

test('malformed and out-of-order messages are ProtocolError', () => {
  for (const kex of kexAlgorithms) {
    const ctxs = contexts('malformed', ed25519, 'ssh-ed25519');
    const c = kex.createClient(ctxs.client);
    const first = c.start().send[0]!;
    const s = kex.createServer(ctxs.server);
    s.start();
    assert.throws(() => s.handle(first.subarray(0, first.length - 1)), ProtocolError, `${kex.name} truncated`);
    assert.throws(() => s.handle(Uint8Array.of(first[0]!)), ProtocolError);
    assert.throws(() => s.handle(new Uint8Array(0)), ProtocolError);
    assert.throws(() => s.handle(Uint8Array.of(99, 0, 0, 0, 0)), ProtocolError);
    assert.throws(() => c.handle(Uint8Array.of(31, 0, 0, 0)), ProtocolError);
    // before start()
    assert.throws(() => kex.createServer(ctxs.server).handle(first), ProtocolError);
    // a message after the exchange finished
    const c2 = kex.createClient(contexts('after', ed25519, 'ssh-ed25519').client);
    const s2 = kex.createServer(contexts('after', ed25519, 'ssh-ed25519').server);
    let msgs = [...c2.start().send];
    s2.start();
    let serverDone = false;
    let last: Uint8Array | undefined;
    while (!serverDone) {
      const out = s2.handle(msgs[0]!);
      last = msgs[0];
      if (out.outcome) serverDone = true;
      else msgs = [...c2.handle(out.send[0]!).send];
    }
    assert.throws(() => s2.handle(last!), ProtocolError, `${kex.name} after done`);
  }
});

test('random junk only ever raises ProtocolError or KeyExchangeError', () => {
  const rnd = seededRandom('junk');
  for (const kex of kexAlgorithms) {
    const ctxs = contexts('junk', ed25519, 'ssh-ed25519');
    // a failed handle() leaves the machine where it was, so one of each serves every message
    const sides = { client: kex.createClient(ctxs.client), server: kex.createServer(ctxs.server) };
    sides.client.start();
    sides.server.start();
    for (let i = 0; i < 60; i++) {
      const len = rnd(1)[0]! % 48;
      const junk = rnd(len);
      if (len > 0) junk[0] = 30 + (rnd(1)[0]! % 5);
      for (const side of ['client', 'server'] as const) {
        const x = sides[side];
        try {
          x.handle(junk);
        } catch (err) {
          assert.ok(err instanceof ProtocolError || err instanceof KeyExchangeError, `${kex.name} ${side}: ${String(err)}`);
        }
      }
    }
  }
});

// ------------------------------------------------------------ group exchange specifics

test('group exchange: server picks OpenSSH-style groups and refuses bad ranges', () => {
  assert.equal(chooseGexGroup(2048, 3072, 8192).bits, 3072);
  assert.equal(chooseGexGroup(2048, 7680, 8192).bits, 8192);
  assert.equal(chooseGexGroup(2048, 8192, 8192).bits, 8192);
  assert.equal(chooseGexGroup(1024, 2048, 2048).bits, 2048);
  assert.equal(chooseGexGroup(2048, 5000, 5000).bits, 4096);
  assert.equal(chooseGexGroup(1024, 1024, 4096).bits, 2048);
  assert.equal(chooseGexGroup(2048, 9000, 16384).bits, 8192);
  assert.deepEqual(GEX_GROUPS.map((g) => g.bits), [2048, 3072, 4096, 6144, 8192]);
  assert.throws(() => chooseGexGroup(1024, 1024, 1536), KeyExchangeError);
  assert.throws(() => chooseGexGroup(4096, 3072, 8192), KeyExchangeError);
  assert.throws(() => chooseGexGroup(3072, 2048, 2048), KeyExchangeError);
  assert.throws(() => chooseGexGroup(9000, 9000, 10000), KeyExchangeError);
  for (const name of ['diffie-hellman-group-exchange-sha256', 'diffie-hellman-group-exchange-sha1']) {
    assert.throws(serverGets(name, KexGexRequest.encode({ min: 1024, n: 1024, max: 1024 })), KeyExchangeError);
    assert.throws(serverGets(name, KexGexRequest.encode({ min: 1024, n: 1536, max: 2047 })), KeyExchangeError);
    assert.throws(serverGets(name, KexGexRequest.encode({ min: 4096, n: 4096, max: 3072 })), KeyExchangeError);
    // the retired REQUEST_OLD (30) is not understood
    assert.throws(serverGets(name, Uint8Array.of(30, 0, 0, 8, 0)), ProtocolError);
  }
});

test('group exchange: client checks the group the server sends', () => {
  const name = 'diffie-hellman-group-exchange-sha256';
  const p2048 = BigInt('0x' + toHex(MODP_2048.prime));
  const p1024 = BigInt('0x' + toHex(OAKLEY_GROUP_2.prime));
  const group = (p: bigint, g: bigint) => () => KexGexGroup.encode({ p, g });
  assert.throws(clientGets(name, group(p1024, 2n)), KeyExchangeError); // below min
  assert.throws(clientGets(name, group(p2048, 1n)), KeyExchangeError);
  assert.throws(clientGets(name, group(p2048, p2048 - 1n)), KeyExchangeError);
  assert.throws(clientGets(name, group(p2048 + 1n, 2n)), KeyExchangeError); // even
  assert.throws(clientGets(name, group(-p2048, 2n)), KeyExchangeError);
  assert.doesNotThrow(clientGets(name, group(p2048, 2n)));
  // a client asking for at most 4096 bits refuses 8192
  const c = findKex(name)!.createClient(contexts('x', ed25519, 'ssh-ed25519', { groupSizes: { min: 2048, preferred: 3072, max: 4096 } }).client);
  c.start();
  assert.throws(() => c.handle(KexGexGroup.encode({ p: BigInt('0x' + toHex(MODP_8192.prime)), g: 2n })), KeyExchangeError);
  // bad local sizes are refused before anything is sent
  const bad = findKex(name)!.createClient(contexts('x', ed25519, 'ssh-ed25519', { groupSizes: { min: 4096, preferred: 3072, max: 8192 } }).client);
  assert.throws(() => bad.start(), KeyExchangeError);
});

test('group exchange: f outside [2, p-2] in the reply is KeyExchangeError', () => {
  const name = 'diffie-hellman-group-exchange-sha256';
  const p = BigInt('0x' + toHex(MODP_2048.prime));
  for (const f of [1n, p - 1n]) {
    const c = findKex(name)!.createClient(contexts('gexf', ed25519, 'ssh-ed25519').client);
    c.start();
    c.handle(KexGexGroup.encode({ p, g: 2n }));
    assert.throws(() => c.handle(KexGexReply.encode({ hostKey: ed25519.publicBlob, f, signature: new Uint8Array(8) })), KeyExchangeError);
  }
  const s = findKex(name)!.createServer(contexts('gexe', ed25519, 'ssh-ed25519').server);
  s.start();
  s.handle(KexGexRequest.encode({ min: 2048, n: 2048, max: 2048 }));
  assert.throws(() => s.handle(KexGexInit.encode({ e: 1n })), KeyExchangeError);
});

test('server without a host key fails with KeyExchangeError', () => {
  const ctxs = contexts('nokey', ed25519, 'ssh-ed25519');
  const { hostKey: _k, hostKeyAlgorithm: _a, ...noKey } = ctxs.server;
  const c = findKex('curve25519-sha256')!.createClient(ctxs.client);
  const init = c.start().send[0]!;
  const s = findKex('curve25519-sha256')!.createServer(noKey);
  s.start();
  assert.throws(() => s.handle(init), KeyExchangeError);
});

// A 2047-bit safe prime with generator 5, as OpenSSH's /etc/ssh/moduli lists them.
const MODULI_2048 = {
  g: 5n,
  p: BigInt(
    '0xC2CE9B70B9DD5860C0846274F1FF29B2E3D5EFFA5A8568C6B9829BD8C42422F0BEE2D6D74503BCD91A002B09EB75174B87734CFFAC12682D49D50AF5B9837E3B' +
      '30675E93087C5279A431B40D8219B2292A0EBB23ED0856BACF21F7A8C801FC3B0A1D2C76C4372109A24587D8E09F91CA0018EB2FB7D75BDD8FE230D49CC593E2' +
      '152A7EFB4B7FCAA9228D061120DED56DDF6019817221B4D9A0F5DECF928148EB22AC583AC3BF37541CC285C6BB4E0C028E7140C133B12EB80354C01C053F5B43' +
      '5EA2798404749664674966DFB7113F86BC74FD37333330A664FA86AE1B40006717AC6091961C45164F3714777CC776DB2C7C72FA6A89EF3DEB98EF63216235F7',
  ),
};

function moduliGroups(): { p: bigint; g: bigint }[] {
  const groups = [MODULI_2048];
  // the big one exposes any primality testing of server-sent groups (seconds in OpenSSL's DH_check)
  if (existsSync('/etc/ssh/moduli')) {
    const line = readFileSync('/etc/ssh/moduli', 'utf8').split('\n').find((l) => l.split(' ')[4] === '8191');
    if (line) groups.push({ g: BigInt(line.split(' ')[5]!), p: BigInt('0x' + line.split(' ')[6]!) });
  }
  return groups;
}

test('group exchange: client handles a server-chosen (moduli file) group quickly and agrees on K', () => {
  const name = 'diffie-hellman-group-exchange-sha256';
  for (const { p, g } of moduliGroups()) {
    const bits = p.toString(2).length;
    const ctxs = contexts('moduli', ed25519, 'ssh-ed25519', { groupSizes: { min: 2047, preferred: bits, max: 8192 } });
    const c = findKex(name)!.createClient(ctxs.client);
    c.start();
    const started = process.cpuUsage();
    const init = c.handle(KexGexGroup.encode({ p, g })).send[0]!;
    const e = KexGexInit.decode(init).e;
    const server = dhKeyPair(Uint8Array.from(Buffer.from(p.toString(16).padStart(Math.ceil(bits / 8) * 2, '0'), 'hex')), g, seededRandom('srv'));
    const kServer = new Writer().mpintFromBytes(server.computeShared(e)).finish();
    const out = c.handle(KexGexReply.encode({ hostKey: ed25519.publicBlob, f: server.publicValue, signature: new Uint8Array(8) }));
    const cpu = process.cpuUsage(started);
    assert.equal(toHex(out.outcome!.sharedSecret), toHex(kServer), `${bits}-bit group`);
    assert.ok((cpu.user + cpu.system) / 1000 < 1000, `${bits}-bit group took ${(cpu.user + cpu.system) / 1000} ms of CPU`);
  }
});

test('makeKexInit: the decoded form it hands on is its own payload decoded, with a fresh cookie per call', async () => {
  const { makeKexInit, buildKexInit } = await import('../../src/core/kex/machine.js');
  const { defaultAlgorithmLists } = await import('../../src/algorithms/index.js');
  const random = seededRandom('make-kex-init');
  for (const role of ['client', 'server'] as const) {
    const setup = { role, random, lists: defaultAlgorithmLists(), clientVersion: 'SSH-2.0-a', serverVersion: 'SSH-2.0-b', hostKeys: [], guess: false };
    for (const initial of [true, false]) {
      const a = makeKexInit(setup, initial, ['ssh-ed25519']);
      const b = makeKexInit(setup, initial, ['ssh-ed25519']);
      assert.deepEqual(a.message, KexInit.decode(a.payload));
      assert.deepEqual(b.message, KexInit.decode(b.payload));
      assert.notDeepEqual(a.message.cookie, b.message.cookie);
      // The cookie is a copy: the payload may be reused or dropped without changing it.
      const cookie = new Uint8Array(a.message.cookie);
      a.payload.fill(0);
      assert.deepEqual(a.message.cookie, cookie);
      // buildKexInit is the payload alone.
      assert.deepEqual(KexInit.decode(buildKexInit(setup, initial, ['ssh-ed25519'])).kexAlgorithms, a.message.kexAlgorithms);
    }
  }
});

test('negotiate: the same names whichever side calls it ours, on random lists', async () => {
  const { negotiate } = await import('../../src/core/kex/negotiate.js');
  const random = seededRandom('negotiate-ours');
  const pool = ['curve25519-sha256', 'aes128-gcm@openssh.com', 'chacha20-poly1305@openssh.com', 'hmac-sha2-256-etm@openssh.com', 'none', 'zlib@openssh.com', 'ssh-ed25519', 'ext-info-c'];
  const pick = (): string[] => pool.filter(() => random(1)[0]! & 1).concat(['none']).map((n) => n.slice());
  for (let i = 0; i < 300; i++) {
    const msg = () => ({ cookie: new Uint8Array(16), kexAlgorithms: pick(), serverHostKeyAlgorithms: pick(), ciphersClientToServer: pick(), ciphersServerToClient: pick(), macsClientToServer: pick(), macsServerToClient: pick(), compressionClientToServer: pick(), compressionServerToClient: pick(), languagesClientToServer: [], languagesServerToClient: [], firstKexPacketFollows: false, reserved: 0 });
    const c = msg();
    const s = msg();
    const aead = (n: string) => n.includes('gcm') || n.includes('chacha');
    let a: unknown;
    let b: unknown;
    try {
      a = negotiate(c, s, aead, 'client');
    } catch (e) {
      a = (e as Error).message;
    }
    try {
      b = negotiate(c, s, aead, 'server');
    } catch (e) {
      b = (e as Error).message;
    }
    assert.deepEqual(a, b);
  }
});

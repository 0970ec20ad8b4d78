// SSH.com private key files (`---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----`) as
// ssh-keygen -i reads them: unencrypted RSA only; everything else, and every
// cut, flipped or made-up file, a KeyFileError. (PuTTYgen-written files are
// compared with ssh-keygen -i in test/interop/keygen-more.test.ts.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rsaKeyPair } from './rsa-key.js';
import { KeyFileError, encodePublicKey, parseSshComPrivateKey } from '../../src/keys/index.js';
import { Writer } from '../../src/wire/writer.js';
import { mutations } from './fuzz-helpers.js';

const rsa = rsaKeyPair(1024).privateKey;
const jwk = rsa.export({ format: 'jwk' });
const num = (b64: string | undefined) => new Uint8Array(Buffer.from(b64!, 'base64url'));

/** SSH.com's bit-count number. */
function bits(w: Writer, b: Uint8Array): void {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  const v = b.subarray(i);
  w.uint32(v.length * 8 - Math.clz32(v[0]!) + 24).raw(v);
}

function sshcomBody(opts: { type?: string; cipher?: string } = {}): Uint8Array {
  const key = new Writer(1024).uint32(0).uint32(17).raw(num(jwk.e));
  for (const f of [jwk.d, jwk.n, jwk.qi, jwk.q, jwk.p]) bits(key, num(f));
  const keyData = key.finish();
  return new Writer(2048)
    .uint32(0x3f6ff9eb)
    .uint32(0)
    .string(opts.type ?? 'if-modn{sign{rsa-pkcs1-sha1},encrypt{rsa-pkcs1v2-oaep}}')
    .string(opts.cipher ?? 'none')
    .uint32(keyData.length)
    .raw(keyData)
    .finish()
    .slice();
}
function armor(body: Uint8Array): string {
  const b64 = Buffer.from(body).toString('base64').replace(/.{70}/g, '$&\n');
  return `---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----\nComment: "a \\\ncontinued comment"\n${b64}\n---- END SSH2 ENCRYPTED PRIVATE KEY ----\n`;
}

test('an unencrypted RSA key reads back to the same key; encrypted and non-RSA files are refused with their problem', () => {
  assert.deepEqual(encodePublicKey(parseSshComPrivateKey(armor(sshcomBody()))), encodePublicKey(rsa));
  const problem = (text: string) => {
    try {
      parseSshComPrivateKey(text);
      return 'none';
    } catch (e) {
      assert.ok(e instanceof KeyFileError);
      return e.problem;
    }
  };
  assert.equal(problem(armor(sshcomBody({ cipher: '3des-cbc' }))), 'unsupported-cipher');
  assert.equal(problem(armor(sshcomBody({ type: 'dl-modp{sign{dsa-nist-sha1},dh{plain}}' }))), 'unknown-key-type');
  assert.equal(problem('---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----\n!!!\n'), 'malformed');
  assert.equal(problem(armor(sshcomBody().subarray(0, 60))), 'truncated');
});

test('cut, flipped and made-up SSH.com bodies give only KeyFileError', () => {
  let n = 0;
  for (const input of mutations('sshcom', [sshcomBody()], 4000)) {
    n++;
    try {
      parseSshComPrivateKey(armor(input));
    } catch (err) {
      if (!(err instanceof KeyFileError)) assert.fail(`${String(err)} for ${Buffer.from(input).toString('hex')}`);
    }
  }
  assert.ok(n >= 4000);
});

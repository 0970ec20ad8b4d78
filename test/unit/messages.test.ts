import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as transport from '../../src/messages/transport.js';
import type { Field, MessageSchema } from '../../src/messages/schema.js';
import { ProtocolError } from '../../src/errors.js';
import { seededRandom } from '../../src/testing/random.js';

const random = seededRandom('messages');
const int = (n: number) => {
  const b = random(4);
  return (((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0) % n;
};
const word = () => Array.from({ length: 1 + int(12) }, () => 'abcdefghijklmnopqrstuvwxyz0123456789-@.'[int(39)]).join('');

function sample(kind: string): unknown {
  switch (kind) {
    case 'byte':
      return int(256);
    case 'boolean':
      return int(2) === 1;
    case 'uint32':
      return int(2 ** 32);
    case 'uint64':
      return BigInt(int(2 ** 32)) * 2n ** 32n + BigInt(int(2 ** 32));
    case 'bytes':
    case 'rest':
      return random(int(300));
    case 'text':
      return word() + (int(2) ? ' é ✓' : '');
    case 'name-list':
      return Array.from({ length: int(5) }, word);
    case 'mpint': {
      const v = BigInt('0x' + Buffer.from(random(1 + int(40))).toString('hex'));
      return int(2) ? v : -v;
    }
    case 'extension-list':
      return Array.from({ length: int(4) }, () => [word(), random(int(20))]);
    default: {
      const m = /^fixed(\d+)$/.exec(kind);
      if (m) return random(Number(m[1]));
      throw new Error(`no generator for field kind ${kind}`);
    }
  }
}

const schemas = Object.values(transport).filter(
  (v): v is MessageSchema<Record<string, Field<unknown>>> => typeof v === 'object' && v !== null && 'encode' in v,
);

test('every transport message schema round-trips random values', () => {
  assert.ok(schemas.length >= 19, `found ${schemas.length} schemas`);
  for (const schema of schemas) {
    for (let i = 0; i < 50; i++) {
      const value: Record<string, unknown> = {};
      for (const [name, field] of Object.entries(schema.fields)) value[name] = sample(field.kind);
      const encoded = schema.encode(value as never);
      assert.equal(encoded[0], schema.number);
      assert.deepEqual(schema.decode(encoded), value, `${schema.name} round trip`);
    }
  }
});

test('decoding a truncated or wrong message is a ProtocolError', () => {
  for (const schema of schemas) {
    const value: Record<string, unknown> = {};
    for (const [name, field] of Object.entries(schema.fields)) value[name] = sample(field.kind);
    const encoded = schema.encode(value as never);
    const hasRest = Object.values(schema.fields).some((f) => f.kind === 'rest');
    if (encoded.length > 1 && !hasRest) {
      assert.throws(() => schema.decode(encoded.subarray(0, encoded.length - 1)), ProtocolError, schema.name);
    }
    const wrong = Uint8Array.from(encoded);
    wrong[0] = (schema.number + 1) & 0xff;
    assert.throws(() => schema.decode(wrong), ProtocolError, schema.name);
  }
});

test('EXT_INFO with an impossible count is refused before looping', () => {
  const payload = Uint8Array.of(7, 0xff, 0xff, 0xff, 0xff);
  assert.throws(() => transport.ExtInfo.decode(payload), ProtocolError);
});

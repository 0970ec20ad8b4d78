// Property tests over every declared schema: random values round-trip, and
// random or mutated bytes make decode throw ProtocolError and nothing else.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import * as transport from '../../src/messages/transport.js';
import * as userauth from '../../src/messages/userauth.js';
import * as connection from '../../src/messages/connection.js';
import * as channelTypes from '../../src/messages/channel-types.js';
import type {
  Field,
  FlagGroup,
  FlaggedField,
  FixedField,
  ListField,
  MessageSchema,
  RepeatedField,
  Struct,
  TupleField,
  WrappedField,
} from '../../src/messages/schema.js';
import { ProtocolError } from '../../src/errors.js';
import { seededRandom } from '../../src/testing/random.js';
import * as examples from './message-examples.js';

const random = seededRandom('messages');
const int = (n: number) => {
  const b = random(4);
  return (((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0) % n;
};
const word = () => Array.from({ length: 1 + int(12) }, () => 'abcdefghijklmnopqrstuvwxyz0123456789-@.'[int(39)]).join('');

type AnyFields = Record<string, Field<unknown>>;
type Members = Record<string, Field<unknown> | FlagGroup<unknown>>;

/** A random value of the type `field` reads, built from its declaration. */
function sample(field: Field<unknown>): unknown {
  switch (field.kind) {
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
    case 'fixed':
      return random((field as FixedField).size);
    case 'struct':
      return sampleFields((field as Struct<AnyFields>).fields);
    case 'list':
    case 'repeated':
      return Array.from({ length: int(4) }, () => sample((field as ListField<unknown> | RepeatedField<unknown>).item));
    case 'tuple':
      return (field as TupleField<Field<unknown>[]>).items.map(sample);
    case 'wrapped':
      return sample((field as WrappedField<unknown>).inner);
    case 'flagged': {
      const out: Record<string, unknown> = {};
      for (const [key, m] of Object.entries((field as FlaggedField<Members>).members)) {
        if (m.kind !== 'if-set') out[key] = sample(m as Field<unknown>);
        else if (int(2)) out[key] = sample((m as FlagGroup<unknown>).field);
      }
      return out;
    }
    default:
      throw new Error(`no generator for field kind ${field.kind}`);
  }
}

function sampleFields(fields: AnyFields): Record<string, unknown> {
  const value: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(fields)) value[name] = sample(field);
  return value;
}

type AnyMessage = MessageSchema<AnyFields>;
type AnyStruct = Struct<AnyFields>;
const isMessage = (v: unknown): v is AnyMessage => typeof v === 'object' && v !== null && 'number' in v && 'encode' in v;
const isStruct = (v: unknown): v is AnyStruct => typeof v === 'object' && v !== null && (v as { kind?: unknown }).kind === 'struct';

const modules = { transport, userauth, connection, channelTypes, examples };
const messages = Object.values(modules).flatMap((m) => Object.values(m).filter(isMessage));
const structs = Object.values(modules).flatMap((m) => Object.values(m).filter(isStruct));
/** Every schema as one encode/decode pair, with the name to report. */
const codecs = [
  ...messages.map((s) => ({ name: s.name, fields: s.fields, toEnd: s.body.toEnd, encode: s.encode, decode: s.decode, number: s.number })),
  ...structs.map((s) => ({ name: s.name, fields: s.fields, toEnd: s.toEnd, encode: s.encode, decode: s.decode, number: undefined })),
];

test('the schemas of every module are found', () => {
  assert.ok(Object.values(transport).filter(isMessage).length >= 19);
  assert.ok(Object.values(userauth).filter(isMessage).length >= 15);
  assert.ok(Object.values(connection).filter(isMessage).length >= 14);
  assert.ok(Object.values(channelTypes).filter(isStruct).length >= 30);
  assert.ok(Object.values(examples).filter(isMessage).length >= 5);
  assert.ok(Object.values(examples).filter(isStruct).length >= 1);
});

test('every schema round-trips random values', () => {
  for (const schema of codecs) {
    for (let i = 0; i < 40; i++) {
      const value = sampleFields(schema.fields);
      const encoded = schema.encode(value as never);
      if (schema.number !== undefined) assert.equal(encoded[0], schema.number);
      assert.deepEqual(schema.decode(encoded), value, `${schema.name} round trip`);
    }
  }
});

test('decoding a truncated message, or another message, is a ProtocolError', () => {
  for (const schema of codecs) {
    const encoded = schema.encode(sampleFields(schema.fields) as never);
    if (encoded.length > 0 && !schema.toEnd) {
      assert.throws(() => schema.decode(encoded.subarray(0, encoded.length - 1)), ProtocolError, schema.name);
    }
    if (schema.number !== undefined) {
      const wrong = Uint8Array.from(encoded);
      wrong[0] = (schema.number + 1) & 0xff;
      assert.throws(() => schema.decode(wrong), ProtocolError, schema.name);
    }
  }
});

/** Decodes and lets through only success or a ProtocolError. */
function decodeOrProtocolError(schema: (typeof codecs)[number], bytes: Uint8Array, how: string): void {
  try {
    schema.decode(bytes);
  } catch (e) {
    assert.ok(e instanceof ProtocolError, `${schema.name} (${how}) threw ${String(e)}`);
  }
}

function mutate(encoded: Uint8Array): Uint8Array {
  const b = Uint8Array.from(encoded);
  switch (int(5)) {
    case 0: // flip a byte
      if (b.length > 0) {
        const at = int(b.length);
        b[at] = b[at]! ^ (1 + int(255));
      }
      return b;
    case 1: // cut short anywhere
      return b.subarray(0, int(b.length + 1));
    case 2: // trailing garbage
      return Uint8Array.from([...b, ...random(1 + int(8))]);
    case 3: {
      // a huge length or count over any four bytes past the message number
      if (b.length > 5) b.set([0xff, 0xff, 0xff, 0xf0 + int(16)], 1 + int(b.length - 4));
      return b;
    }
    default: {
      // a small wrong length or count
      if (b.length > 5) b.set([0, 0, 0, int(32)], 1 + int(b.length - 4));
      return b;
    }
  }
}

test('random and mutated bytes make decode throw only ProtocolError', () => {
  for (const schema of codecs) {
    for (let i = 0; i < 150; i++) {
      const noise = random(int(80));
      if (schema.number !== undefined && noise.length > 0 && int(2)) noise[0] = schema.number;
      decodeOrProtocolError(schema, noise, 'random bytes');
    }
    for (let i = 0; i < 40; i++) {
      const encoded = schema.encode(sampleFields(schema.fields) as never);
      for (let j = 0; j < 10; j++) decodeOrProtocolError(schema, mutate(encoded), 'mutated');
    }
  }
});

test('EXT_INFO with an impossible count is refused before looping', () => {
  const payload = Uint8Array.of(7, 0xff, 0xff, 0xff, 0xff);
  assert.throws(() => transport.ExtInfo.decode(payload), /cannot fit/);
});

test('each message number is written once, in its module table', () => {
  const root = resolve(dirname(new URL(import.meta.url).pathname), '../../..');
  const dir = join(root, 'src/messages');
  for (const file of readdirSync(dir).filter((n) => n.endsWith('.ts'))) {
    const text = readFileSync(join(dir, file), 'utf8');
    assert.doesNotMatch(text, /\bmessage\(\s*\d/, `${file} declares a message with a literal number`);
  }
  const tables = [transport.MSG, userauth.MSG_USERAUTH, connection.MSG_CONNECTION];
  for (const schema of messages.filter((m) => !Object.values(examples).includes(m as never))) {
    assert.ok(
      tables.some((t) => Object.values(t).includes(schema.number as never)),
      `${schema.name} (${schema.number}) is in no message-number table`,
    );
  }
});

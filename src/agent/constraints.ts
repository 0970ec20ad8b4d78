// Key constraints of ADD_ID_CONSTRAINED and ADD_SMARTCARD_KEY_CONSTRAINED:
// a lifetime, confirmation before each use, and OpenSSH's extension
// constraints (PROTOCOL.agent): the security-key provider, keys restricted to
// destinations (`restrict-destination-v00@openssh.com`, what `ssh-add -h`
// writes) and the certificates associated with a PKCS#11 key. Each
// constraint is `byte type` and its fields; they run to the end of the message.
import { ProtocolError } from '../errors.js';
import { f, type MessageOf } from '../messages/schema.js';
import { Reader } from '../wire/reader.js';
import { Writer } from '../wire/writer.js';
import { MAX_AGENT_KEY_BLOB } from './messages.js';

export const CONSTRAINT = {
  LIFETIME: 1,
  CONFIRM: 2,
  EXTENSION: 255,
} as const;

export const RESTRICT_DESTINATION = 'restrict-destination-v00@openssh.com';
export const ASSOCIATED_CERTS = 'associated-certs-v00@openssh.com';
export const SK_PROVIDER = 'sk-provider@openssh.com';

/** The most constraints one request may carry (more is no real key's). */
const MAX_CONSTRAINTS = 64;

/** One hop of a destination constraint: a user at a host, known by these host keys (or CAs). */
const Hop = f.struct(
  {
    user: f.text(1024),
    host: f.text(1024),
    reserved: f.bytes(64 * 1024),
    keys: f.repeated(f.struct({ key: f.bytes(MAX_AGENT_KEY_BLOB), isCa: f.boolean() }), 256),
  },
  'hop',
);
/** `from` may forward the key to `to` (an empty `from.host` is the agent's own host). */
const DestinationConstraint = f.struct({ from: f.wrapped(Hop), to: f.wrapped(Hop), reserved: f.bytes(64 * 1024) }, 'destination constraint');
const RestrictDestination = f.wrapped(f.repeated(f.wrapped(DestinationConstraint), 256), 1024 * 1024);
const AssociatedCerts = f.struct({ certsOnly: f.boolean(), certs: f.wrapped(f.repeated(f.bytes(MAX_AGENT_KEY_BLOB), 256), 1024 * 1024) }, 'associated certificates');

export type DestinationHop = MessageOf<typeof Hop>;
export type DestinationRestriction = MessageOf<typeof DestinationConstraint>;

export type KeyConstraint =
  /** Forget the key after `seconds` (ssh-add -t). */
  | { readonly type: 'lifetime'; readonly seconds: number }
  /** Ask the user before each use (ssh-add -c). */
  | { readonly type: 'confirm' }
  /** The FIDO middleware library for an sk- key (ssh-add -S). */
  | { readonly type: 'sk-provider'; readonly path: string }
  /** Where the key may be used (ssh-add -h). */
  | { readonly type: 'restrict-destination'; readonly destinations: readonly DestinationRestriction[] }
  /** Certificates for a PKCS#11 key; with certsOnly, the plain key is not offered. */
  | { readonly type: 'associated-certs'; readonly certsOnly: boolean; readonly certs: readonly Uint8Array[] };

export function encodeConstraints(constraints: readonly KeyConstraint[]): Uint8Array {
  const w = new Writer(32);
  for (const c of constraints) {
    switch (c.type) {
      case 'lifetime':
        if (!Number.isInteger(c.seconds) || c.seconds < 1 || c.seconds > 0xffffffff) throw new RangeError(`a key lifetime must be 1..2^32-1 seconds, not ${c.seconds}`);
        w.byte(CONSTRAINT.LIFETIME).uint32(c.seconds);
        break;
      case 'confirm':
        w.byte(CONSTRAINT.CONFIRM);
        break;
      case 'sk-provider':
        w.byte(CONSTRAINT.EXTENSION).string(SK_PROVIDER).string(c.path);
        break;
      case 'restrict-destination':
        w.byte(CONSTRAINT.EXTENSION).string(RESTRICT_DESTINATION);
        RestrictDestination.write(w, [...c.destinations]);
        break;
      case 'associated-certs':
        w.byte(CONSTRAINT.EXTENSION).string(ASSOCIATED_CERTS);
        AssociatedCerts.write(w, { certsOnly: c.certsOnly, certs: [...c.certs] });
        break;
    }
  }
  return w.finish();
}

/** The constraints in `bytes` (all of them); ProtocolError for an unknown or malformed one. */
export function decodeConstraints(bytes: Uint8Array): KeyConstraint[] {
  const r = new Reader(bytes, 0, 'key constraints');
  const out: KeyConstraint[] = [];
  while (r.remaining > 0) {
    if (out.length >= MAX_CONSTRAINTS) throw new ProtocolError(`key constraints: more than ${MAX_CONSTRAINTS}`);
    const type = r.byte('constraint type');
    if (type === CONSTRAINT.LIFETIME) {
      const seconds = r.uint32('lifetime');
      if (seconds === 0) throw new ProtocolError('key constraints: a lifetime of 0 seconds');
      out.push({ type: 'lifetime', seconds });
    } else if (type === CONSTRAINT.CONFIRM) {
      out.push({ type: 'confirm' });
    } else if (type === CONSTRAINT.EXTENSION) {
      const name = r.text('constraint extension', 1024);
      if (name === SK_PROVIDER) out.push({ type: 'sk-provider', path: r.text('sk provider', 4096) });
      else if (name === RESTRICT_DESTINATION) out.push({ type: 'restrict-destination', destinations: RestrictDestination.read(r, RESTRICT_DESTINATION) });
      else if (name === ASSOCIATED_CERTS) out.push({ type: 'associated-certs', ...AssociatedCerts.read(r, ASSOCIATED_CERTS) });
      // Its length is its own: nothing after it can be found, so it is refused as OpenSSH's agent does.
      else throw new ProtocolError(`key constraints: unknown extension ${JSON.stringify(name.slice(0, 64))}`);
    } else {
      throw new ProtocolError(`key constraints: unknown constraint type ${type}`);
    }
  }
  return out;
}

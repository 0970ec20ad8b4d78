// Types for the `bcrypt-pbkdf` package (a pure-JS port of OpenBSD's
// bcrypt_pbkdf); it ships none and DefinitelyTyped has none.
declare module 'bcrypt-pbkdf' {
  interface BcryptPbkdf {
    /** Fills `key[0..keylen)`; returns 0, or -1 when an argument is out of range. */
    pbkdf(pass: Uint8Array, passlen: number, salt: Uint8Array, saltlen: number, key: Uint8Array, keylen: number, rounds: number): number;
    hash(sha2pass: Uint8Array, sha2salt: Uint8Array, out: Uint8Array): void;
    readonly BLOCKS: number;
    readonly HASHSIZE: number;
  }
  const bcryptPbkdf: BcryptPbkdf;
  export default bcryptPbkdf;
}

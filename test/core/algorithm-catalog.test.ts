// The algorithm name catalog the ssh_config reader checks against stays
// equal, in order, to the registries it stands in for; and reading a config
// does not load those registries (the point of the catalog).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CIPHER_NAMES, HOST_KEY_NAMES, KEX_NAMES, MAC_NAMES, USER_KEY_NAMES } from '../../src/algorithms/catalog.js';
import { cipherAlgorithms, kexAlgorithms, macAlgorithms } from '../../src/algorithms/index.js';
import { allHostKeyAlgorithms, userKeyAlgorithms } from '../../src/algorithms/hostkey.js';

const names = (r: readonly { readonly name: string }[]) => r.map((a) => a.name);

test('the catalog names exactly the algorithms of each registry, in order', () => {
  assert.deepEqual(KEX_NAMES, names(kexAlgorithms));
  assert.deepEqual(CIPHER_NAMES, names(cipherAlgorithms));
  assert.deepEqual(MAC_NAMES, names(macAlgorithms));
  assert.deepEqual(HOST_KEY_NAMES, names(allHostKeyAlgorithms));
  assert.deepEqual(USER_KEY_NAMES, names(userKeyAlgorithms));
});

test('the ssh_config reader and resolver import no algorithm registry', () => {
  for (const f of ['ssh-config-keywords', 'ssh-config-resolve', 'ssh-config-match', 'ssh-config-lex', 'ssh-config-tokens', 'forward-spec']) {
    const text = readFileSync(fileURLToPath(new URL(`../../../src/config/${f}.ts`, import.meta.url)), 'utf8');
    const imports = [...text.matchAll(/^import[^;]*from '([^']+)'/gm)].map((m) => m[1]!);
    for (const spec of imports) assert.ok(!/algorithms\/(index|hostkey|kex|cipher|mac)/.test(spec), `${f}.ts imports ${spec}`);
  }
});

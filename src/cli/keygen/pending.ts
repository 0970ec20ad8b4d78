// The features that wait for modules other engineers are writing. Each is
// one function here, so filling one in is a change to one place; until then
// each says so and the tool exits 1.
import { CliExit } from '../common/exit.js';

export function notSupportedYet(what: string): never {
  throw new CliExit(1, `nacre-keygen: ${what} is not supported yet`);
}

/** `-Y sign -U` and keys held only in ssh-agent (awaits an agent client). */
export function agentSigner(): never {
  return notSupportedYet('signing with a key in ssh-agent (-U)');
}

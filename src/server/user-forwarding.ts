// Forwarding for a server whose sessions run as their users (runAsUser):
// sshd forwards from the user's own process, so the kernel checks what the
// user may do; a Nacre server forwards from its own process. Where that
// makes a difference when the server is root and the user is not, the
// request is refused: a listen on a privileged port (sshd refuses it to
// non-root users too), and Unix-socket forwarding (connecting to, or
// creating, a socket file as root would reach sockets and directories the
// user cannot). A server that is not root forwards only for its own user.
import type { ForwardingPolicy, LocalForwardRequest, RemoteForwardRequest, StreamlocalForwardRequest } from './forwarding.js';
import type { MaybePromise } from './session-channel.js';
import { lookupUserAccount, type UserAccount } from './user-account.js';

export interface ForwardingAsUserOptions {
  /** Finds the account of a login name; default lookupUserAccount. */
  readonly lookup?: (username: string) => Promise<UserAccount>;
  /** The server's effective uid; default the process's. For tests. */
  readonly euid?: number;
}

/** Below this a port is privileged (IPPORT_RESERVED). */
const FIRST_UNPRIVILEGED_PORT = 1024;

type Standing = 'as-user' | 'root-for-user' | 'refused';

/**
 * `policy` with what the server's privileges would let through refused:
 * see the top of this file. Each request looks the user's account up
 * (an unknown user is refused); what is left is `policy`'s decision.
 */
export function forwardingAsUser(policy: ForwardingPolicy, options: ForwardingAsUserOptions = {}): ForwardingPolicy {
  const lookup = options.lookup ?? lookupUserAccount;
  const standing = async (username: string): Promise<Standing> => {
    const euid = options.euid ?? process.geteuid?.();
    let account: UserAccount;
    try {
      account = await lookup(username);
    } catch {
      return 'refused';
    }
    if (account.uid === euid) return 'as-user';
    return euid === 0 ? 'root-for-user' : 'refused';
  };
  const ask = <R, A>(fn: ((req: R) => MaybePromise<A>) | undefined, req: R): MaybePromise<A | false> => (fn ? fn(req) : false);
  return {
    forwardLocal: async (req: LocalForwardRequest) => ((await standing(req.username)) === 'refused' ? false : ask(policy.forwardLocal, req)),
    forwardRemote: async (req: RemoteForwardRequest) => {
      const s = await standing(req.username);
      if (s === 'refused') return false;
      if (s === 'root-for-user' && req.bindPort > 0 && req.bindPort < FIRST_UNPRIVILEGED_PORT) return false;
      return ask(policy.forwardRemote, req);
    },
    forwardStreamlocal: async (req: StreamlocalForwardRequest) => ((await standing(req.username)) === 'as-user' ? ask(policy.forwardStreamlocal, req) : false),
  };
}

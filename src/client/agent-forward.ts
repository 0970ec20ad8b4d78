// Agent forwarding (ssh -A): every session channel asks the server for an
// agent (`auth-agent-req@openssh.com`), and each `auth-agent@openssh.com`
// channel the server then opens is relayed to a new connection to the local
// agent, bound to this session first (session-bind with the forwarding
// flag, as ssh does) so that the agent can apply destination restrictions.
// Without forwardAgent no handler is registered: such opens are refused.
import { pipeline } from 'node:stream';
import { ReqAuthAgent } from '../messages/channel-types.js';
import { OpenFailureReason } from '../messages/connection.js';
import type { Channel } from '../io/node/channel.js';
import type { ChannelOpener, NodeEndpoint } from '../io/node/node-endpoint.js';
import type { IncomingChannelOpen } from '../io/node/registries.js';
import type { AgentSocket } from '../io/node/agent-socket.js';
import { sessionBinding } from './agent-auth.js';
import type { ConnectOptions } from './options.js';

/** Forwarded agent connections open at once, at most; more are refused (RESOURCE_SHORTAGE). */
export const MAX_FORWARDED_AGENT_CHANNELS = 16;

/** The agent socket forwarding relays to: forwardAgent's path, else the `agent` option's, else $SSH_AUTH_SOCK. */
function forwardingPath(options: ConnectOptions, agentSocketPath: (path?: string | true) => string): string {
  if (typeof options.forwardAgent === 'string') return agentSocketPath(options.forwardAgent);
  return agentSocketPath(typeof options.agent === 'string' ? options.agent : undefined);
}

/**
 * With `forwardAgent`, answers the server's agent channels on `node` and
 * returns the opener of session channels that asks for the agent on each;
 * otherwise `node` itself.
 */
export function agentForwarding(node: NodeEndpoint, options: ConnectOptions): ChannelOpener {
  if (!options.forwardAgent) return node;
  let open = 0;
  const onOpen = async (request: IncomingChannelOpen): Promise<void> => {
    if (open >= MAX_FORWARDED_AGENT_CHANNELS) {
      request.reject(OpenFailureReason.RESOURCE_SHORTAGE, 'too many forwarded agent connections');
      return;
    }
    // counted from now: opens waiting for the agent take a slot too
    open++;
    let relaying = false;
    try {
      relaying = await relay(request);
    } finally {
      if (!relaying) open--;
    }
  };
  /** Connects the channel `request` opens to a new agent connection; false when it was refused. */
  const relay = async (request: IncomingChannelOpen): Promise<boolean> => {
    // The agent's modules load with the first forwarded agent channel, not with every connection.
    const [{ AgentSocket }, { AgentError, SESSION_BIND_EXTENSION, SessionBind, AgentExtension, extensionReply }, { agentSocketPath }] = await Promise.all([
      import('../io/node/agent-socket.js'),
      import('../agent/index.js'),
      import('./agent-client.js'),
    ]);
    let socket: AgentSocket;
    try {
      socket = await AgentSocket.connect(forwardingPath(options, agentSocketPath));
    } catch (err) {
      options.debug?.(1, `agent forwarding: ${err instanceof Error ? err.message : String(err)}`);
      request.reject(OpenFailureReason.CONNECT_FAILED, 'no agent to forward');
      return false;
    }
    const binding = sessionBinding(node);
    if (binding) {
      try {
        const reply = await socket.call(AgentExtension.encode({ name: SESSION_BIND_EXTENSION, data: SessionBind.encode({ ...binding, forwarding: true }) }));
        extensionReply(reply, SESSION_BIND_EXTENSION);
      } catch (err) {
        // an agent without the extension is forwarded unbound, as ssh does
        if (!(err instanceof AgentError) || err.problem !== 'refused') {
          socket.close();
          request.reject(OpenFailureReason.CONNECT_FAILED, 'the agent failed');
          return false;
        }
      }
    }
    const stream = socket.detach();
    if (!stream || request.answered) {
      socket.close();
      request.reject(OpenFailureReason.CONNECT_FAILED, 'the agent connection closed');
      return false;
    }
    let channel: Channel;
    try {
      channel = request.accept();
    } catch {
      stream.destroy();
      return false;
    }
    let done = false;
    const finished = () => {
      if (done) return;
      done = true;
      open--;
      stream.destroy();
      channel.destroy();
    };
    stream.resume();
    pipeline(stream, channel, finished);
    pipeline(channel, stream, finished);
    return true;
  };
  node.handleChannelOpen('auth-agent@openssh.com', onOpen);
  return {
    get error() {
      return node.error;
    },
    async openChannel(type: string, data?: Uint8Array): Promise<Channel> {
      const ch = await node.openChannel(type, data);
      // Without want-reply, as ssh sends it: a server that refuses simply opens no agent channel.
      if (type === 'session') void ch.request('auth-agent-req@openssh.com', ReqAuthAgent.encode({}), false);
      return ch;
    },
  };
}

// sshd_config's forwarding keywords as the server's forwarding policy:
// DisableForwarding, AllowTcpForwarding (yes/no/local/remote),
// AllowStreamLocalForwarding, PermitOpen, PermitListen and GatewayPorts,
// decided with the settings Match resolves for the user and connection.
// A refused request gets the protocol's clean failure (the server library
// sends it) and a line in the log, in sshd's words.
import type { LocalForwardRequest, RemoteForwardRequest, StreamlocalForwardRequest, ForwardingPolicy, SshdSettings, SshdPermitList, ForwardRequestOrigin } from '../../index.js';
import { matchPattern } from '../../index.js';
import { peer, printable, type SshdLog } from './log.js';

function permitted(list: SshdPermitList, host: string, port: number): boolean {
  if (list === 'any') return true;
  if (list === 'none') return false;
  // sshd compares the host name as the client sent it (no resolution); `*` matches any.
  return list.some((r) => (r.port === '*' || r.port === port) && (r.host === '*' || matchPattern(host.toLowerCase(), r.host.toLowerCase())));
}

function isLoopbackBind(address: string): boolean {
  return address === 'localhost' || address === '::1' || /^127\./.test(address);
}

/** The forwarding policy for createServer, resolving settings per request through `settingsFor`. */
export function forwardingPolicy(settingsFor: (username: string, origin: ForwardRequestOrigin) => SshdSettings, log: SshdLog): ForwardingPolicy {
  const tcpAllowed = (s: SshdSettings, direction: 'local' | 'remote') =>
    !s.disableForwarding && (s.allowTcpForwarding === 'yes' || s.allowTcpForwarding === direction);
  const unixAllowed = (s: SshdSettings, direction: 'local' | 'remote') =>
    !s.disableForwarding && (s.allowStreamLocalForwarding === 'yes' || s.allowStreamLocalForwarding === direction);
  return {
    forwardLocal: (req: LocalForwardRequest) => {
      const s = settingsFor(req.username, req);
      const from = peer(req.remoteAddress, req.remotePort);
      if (!tcpAllowed(s, 'local')) {
        log.info(`refused local port forward: originator ${printable(req.originatorAddress)} port ${req.originatorPort}, target ${printable(req.host)} port ${req.port} (AllowTcpForwarding / DisableForwarding) for ${printable(req.username)} from ${from}`);
        return false;
      }
      if (!permitted(s.permitOpen, req.host, req.port)) {
        log.info(`Received request from ${from} to connect to host ${printable(req.host)} port ${req.port}, but the request was denied.`);
        return false;
      }
      return true;
    },
    forwardRemote: (req: RemoteForwardRequest) => {
      const s = settingsFor(req.username, req);
      const from = peer(req.remoteAddress, req.remotePort);
      if (!tcpAllowed(s, 'remote')) {
        log.info(`refused remote port forward: listen ${printable(req.bindAddress)} port ${req.bindPort} (AllowTcpForwarding / DisableForwarding) for ${printable(req.username)} from ${from}`);
        return false;
      }
      const host = req.bindAddress === '' ? '*' : req.bindAddress;
      if (!permitted(s.permitListen, host, req.bindPort)) {
        log.info(`Received request from ${from} to remote forward to host ${printable(req.bindAddress)} port ${req.bindPort}, but the request was denied.`);
        return false;
      }
      // sshd's GatewayPorts: `no` listens on loopback whatever was asked, `yes` on every interface, `clientspecified` where asked.
      if (s.gatewayPorts === 'no') return isLoopbackBind(req.bindAddress) ? true : { listenAddress: 'localhost' };
      if (s.gatewayPorts === 'yes') return { listenAddress: '' };
      return true;
    },
    forwardStreamlocal: (req: StreamlocalForwardRequest) => {
      const s = settingsFor(req.username, req);
      const direction = req.listen ? 'remote' : 'local';
      if (!unixAllowed(s, direction)) {
        log.info(`refused ${direction} streamlocal forward: path ${printable(req.socketPath, 200)} (AllowStreamLocalForwarding / DisableForwarding) for ${printable(req.username)} from ${peer(req.remoteAddress, req.remotePort)}`);
        return false;
      }
      return true;
    },
  };
}

import { DisconnectReason, NacreError } from '../errors.js';

/**
 * Why an agent request failed: `refused` (the agent answered FAILURE),
 * `protocol` (its reply was malformed, too long or not the one expected),
 * `timeout`, `closed` (the connection ended first), `busy` (too many requests
 * queued), `unavailable` (no agent socket to connect to).
 */
export type AgentProblem = 'refused' | 'protocol' | 'timeout' | 'closed' | 'busy' | 'unavailable';

/** An SSH agent request that did not succeed; `problem` says why. */
export class AgentError extends NacreError {
  readonly problem: AgentProblem;
  constructor(message: string, problem: AgentProblem, options?: { cause?: unknown }) {
    super(message, DisconnectReason.BY_APPLICATION, options);
    this.problem = problem;
  }
}

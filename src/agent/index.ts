// The SSH agent protocol, pure: messages, constraints, ADD_IDENTITY's key
// fields, a connection's request queue and framing, and reply checks.
export * from './messages.js';
export * from './constraints.js';
export * from './private-fields.js';
export * from './connection.js';
export * from './requests.js';
export * from './errors.js';

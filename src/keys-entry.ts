// `nacre/keys`: the package's light entry point, for tools and scripts that
// work with key and trust files and start often (nacre-keygen). It holds the
// pure key model (src/keys), the trust files (src/trust) and the Node file
// helpers they need, and none of the protocol stack: importing it costs a
// fraction of importing 'nacre' (see docs/PERFORMANCE.md, "nacre-keygen
// start-up"). 'nacre' exports the names most programs need from these
// modules; this entry exports all of src/keys and src/trust.
export * from './keys/index.js';
export * from './trust/index.js';
export {
  classifyKnownHosts,
  splitKnownHostsLines,
  hostFieldMatches,
  findKnownHostLines,
  removeKnownHost,
  hashKnownHosts,
  hashKnownHostEntry,
  type ClassifiedKnownHostsLine,
  type KnownHostsEdit,
  type RemovedKnownHost,
  type HashedKnownHosts,
  type HashKnownHostsOptions,
} from './trust/known-hosts-edit.js';
export {
  readBounded,
  writeFileAtomic,
  updateFileAtomic,
  expandHome,
  isMissingFile,
  MAX_TRUST_FILE_BYTES,
  type ReadBoundedOptions,
  type WriteFileAtomicOptions,
  type UpdateFileOptions,
} from './io/node/files.js';
export * from './io/node/key-files.js';

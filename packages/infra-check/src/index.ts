export * from './check-overlay.js';
export * from './dockerfile-lint.js';
export * from './invariants.js';
export * from './kustomize.js';
export * from './patch.js';
export * from './paths.js';
export * from './schemas.js';

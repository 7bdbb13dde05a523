// Test helpers for reindex packages (`@reindex/core/testing`). They need the devDependencies
// s3rver, hyparquet-writer, parquet-wasm and apache-arrow in the package that uses them.
export * from './s3-test-server.js';
export * from './s3-fault-proxy.js';
export * from './catalogue-fixtures.js';
export * from '../store/object-store-contract.js';
export * from './arrow-parquet.js';

/**
 * Child-process entry point of the test S3 server. Run with `--openssl-legacy-provider`:
 * s3rver 3.7 signs ListObjectsV2 continuation tokens with DES, which OpenSSL 3 (Node 17+) only
 * offers through the legacy provider; without it every paginated listing fails with HTTP 500.
 *
 * argv: <directory> <bucket,bucket,...>. Prints `{"port":N}` on stdout once listening and
 * exits when its stdin closes, so a crashed test runner never leaves it behind.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const S3rver = require('s3rver') as new (
  options: Record<string, unknown>,
) => {
  run(): Promise<{ port: number }>;
  close(): Promise<void>;
};

const [directory, buckets = ''] = process.argv.slice(2);
const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  silent: true,
  directory,
  configureBuckets: buckets
    .split(',')
    .filter((name) => name.length > 0)
    .map((name) => ({ name })),
});
const { port } = await server.run();
process.stdout.write(`${JSON.stringify({ port })}\n`);
process.stdin.resume();
process.stdin.on('end', () => {
  void server.close().finally(() => process.exit(0));
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, ObjectStoreError } from '../errors.js';
import { loadConfig } from '../config/load-config.js';
import { redactSecrets } from './redact.js';

test('redactSecrets hides user info and secret query values, parseable URLs or not', () => {
  const cases: Array<[string, string]> = [
    ['redis://:R3DIS-PASS@10.0.0.5:6379/0', 'redis://***@10.0.0.5:6379/0'],
    ['got "redis:/:R3DIS-PASS@host:6379"', 'got "redis:/***@host:6379"'],
    ['rediss://default:s3cr3t@cache.internal', 'rediss://***@cache.internal'],
    ['S3 endpoint http://minio:m1n10-secret@minio.internal:9000 is unreachable', 'S3 endpoint http://***@minio.internal:9000 is unreachable'],
    [
      'https://b.s3.amazonaws.com/k?X-Amz-Credential=AKIA%2F1&X-Amz-Signature=abc123&part=2',
      'https://b.s3.amazonaws.com/k?X-Amz-Credential=***&X-Amz-Signature=***&part=2',
    ],
    ['s3://bucket/prefix/ and file:///var/store are fine', 's3://bucket/prefix/ and file:///var/store are fine'],
    ['mail ops@example.com', 'mail ops@example.com'],
  ];
  for (const [input, expected] of cases) assert.equal(redactSecrets(input), expected, input);
});

test('errors never carry a password: a config problem and a store error, as raised', async () => {
  await assert.rejects(loadConfig(undefined, { redisUrl: 'redis:/:R3DIS-PASS@host:6379' }), (error: Error) => {
    assert.ok(error instanceof ConfigError);
    assert.match(error.message, /redisUrl/);
    assert.doesNotMatch(error.message, /R3DIS-PASS/);
    return true;
  });
  const error = new ObjectStoreError('ENDPOINT_UNREACHABLE', 'S3 endpoint http://user:hunter2@127.0.0.1:9 is unreachable');
  assert.doesNotMatch(error.message, /hunter2/);
});

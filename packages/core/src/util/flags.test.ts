import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseIntegerFlag } from './flags.js';

test('one integer grammar for every binary: digits and an optional power of ten, within the range', () => {
  assert.equal(parseIntegerFlag('items', '1000000000'), 1e9);
  assert.equal(parseIntegerFlag('items', '1e9'), 1e9);
  assert.equal(parseIntegerFlag('workers', '0', { min: 0 }), 0);
  assert.equal(parseIntegerFlag('port', ' 3000 ', { min: 0, max: 65535 }), 3000);
  for (const bad of ['', 'abc', '0x10', '12.0', '1.5e3', '8k', '1e400', '9007199254740993']) {
    const result = parseIntegerFlag('shard-count', bad, { min: 1 });
    assert.equal(typeof result, 'object', `${JSON.stringify(bad)} is refused`);
    assert.match((result as { problem: string }).problem, /^--shard-count must be an integer, got /);
  }
  assert.deepEqual(parseIntegerFlag('shard-count', '0', { min: 1 }), { problem: '--shard-count must be at least 1, got 0' });
  assert.deepEqual(parseIntegerFlag('port', '70000', { min: 0, max: 65535 }), { problem: '--port must be an integer 0..65535, got 70000' });
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CliError, parseRunArgs } from './args.js';
import { printable } from './commands.js';

test('run flags parse into typed options with documented defaults', () => {
  const args = parseRunArgs(['--shard-count', '64', '--catalogue', 's3://b/p', '--workers', '0', '--index-factory', 'IVF4096,PQ32', '--json']);
  assert.deepEqual(args, { shardCount: 64, catalogue: 's3://b/p', workers: 0, indexFactory: 'IVF4096,PQ32', json: true, dryRun: false });
  // Absent unless given: the config file's `workers` then decides (else one per core).
  assert.equal(parseRunArgs(['--shard-count', '8']).workers, undefined);
  assert.equal(parseRunArgs(['--shard-count', '8', '--force']).force, true);
  // --incremental / --full override the config's `incremental` for one run; absent: the config's.
  assert.equal(parseRunArgs(['--shard-count', '8', '--incremental']).incremental, 'auto');
  assert.equal(parseRunArgs(['--shard-count', '8', '--full']).incremental, 'off');
  assert.equal(parseRunArgs(['--shard-count', '8']).incremental, undefined);
});

test('bad flags are errors that name the flag', () => {
  const cases: Array<[string[], RegExp]> = [
    [['--shard-count', '0'], /--shard-count must be at least 1, got 0/],
    [['--shard-count=-3'], /--shard-count must be at least 1/],
    [['--shard-count', 'abc'], /--shard-count must be an integer, got "abc"/],
    [['--shard-count', '2.5'], /--shard-count must be an integer/],
    [['--shard-count', '4', '--workers=-1'], /--workers must be at least 0/],
    [[], /--shard-count is required/],
    [['--shard-count', '4', '--bogus'], /Unknown option '--bogus'/],
    [['--shard-count', '4', '--catalogue', ''], /--catalogue must not be empty/],
    [['--shard-count', '4', '--name='], /--name must not be empty/],
    [['--shard-count', '4', '--store', '  '], /--store must not be empty/],
    [['--shard-count', '4', '--incremental', '--full'], /--incremental and --full contradict each other/],
  ];
  for (const [argv, message] of cases) {
    assert.throws(
      () => parseRunArgs(argv),
      (e: Error) => e instanceof CliError && message.test(e.message),
      argv.join(' '),
    );
  }
});

test('--resume needs no shard count', () => {
  assert.equal(parseRunArgs(['--resume', 'b1', '--redis', 'redis://h:1']).resume, 'b1');
});

test('titles printed to a terminal lose their control sequences, visibly', () => {
  assert.equal(printable('red shirt\u001b[2J\u001b]0;pwned\u0007'), 'red shirt\\u{1b}[2J\\u{1b}]0;pwned\\u{7}');
  assert.equal(printable('abc\u202edcba'), 'abc\\u{202e}dcba');
  assert.equal(printable('Grüne Äpfel 青い'), 'Grüne Äpfel 青い');
});

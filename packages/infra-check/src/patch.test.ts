import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { applyJsonPatch, strategicMerge, type Json } from './patch.js';

describe('strategic merge', () => {
  test('merges containers by name and ports by containerPort, replaces args, deletes on null', () => {
    const base: Json = {
      spec: {
        containers: [
          { name: 'a', image: 'x', args: ['1', '2'], ports: [{ containerPort: 1, name: 'p' }], env: [{ name: 'A', value: '1' }] },
          { name: 'b', image: 'y' },
        ],
        nodeSelector: { k: 'v' },
      },
    };
    const patch: Json = {
      spec: { containers: [{ name: 'a', args: ['3'], ports: [{ containerPort: 2 }], env: [{ name: 'B', value: '2' }] }], nodeSelector: null },
    };
    assert.deepEqual(strategicMerge(base, patch), {
      spec: {
        containers: [
          {
            name: 'a',
            image: 'x',
            args: ['3'],
            ports: [{ containerPort: 1, name: 'p' }, { containerPort: 2 }],
            env: [
              { name: 'A', value: '1' },
              { name: 'B', value: '2' },
            ],
          },
          { name: 'b', image: 'y' },
        ],
      },
    });
  });

  test('refuses directives it does not implement', () => {
    assert.throws(() => strategicMerge({ a: { b: 1 } }, { a: { $patch: 'replace', b: 2 } }), /not supported/);
  });
});

describe('JSON patch', () => {
  test('add, replace, remove', () => {
    const out = applyJsonPatch({ a: [{ b: 'x' }], c: 1 }, [
      { op: 'replace', path: '/a/0/b', value: 'y' },
      { op: 'add', path: '/a/-', value: { b: 'z' } },
      { op: 'remove', path: '/c' },
    ]);
    assert.deepEqual(out, { a: [{ b: 'y' }, { b: 'z' }] });
  });

  test('a path that does not exist fails instead of creating it', () => {
    assert.throws(() => applyJsonPatch({ a: [] }, [{ op: 'replace', path: '/a/3/b', value: 1 }]), /does not exist/);
  });
});

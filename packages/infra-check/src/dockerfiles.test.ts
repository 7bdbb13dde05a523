import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { lintDockerfile, type ImageExpectations } from './dockerfile-lint.js';
import { INFRA_DIR } from './paths.js';

/** The images cannot be built here (no Docker engine); they are parsed and checked instead. */
const IMAGES: Record<string, ImageExpectations> = {
  'cpu.Dockerfile': { command: 'reindex-worker', onnxruntimeInstall: 'skip' },
  'gpu.Dockerfile': { command: 'reindex-worker', onnxruntimeInstall: 'cuda12' },
};
const read = (name: string) => readFile(join(INFRA_DIR, 'docker', name), 'utf8');

describe('Dockerfiles', () => {
  for (const [name, expect] of Object.entries(IMAGES)) {
    test(`${name} parses and keeps its promises`, async () => {
      assert.deepEqual(lintDockerfile(await read(name), expect), []);
    });
  }

  test('the GPU image runs the CUDA worker on the CUDA runtime base', async () => {
    const text = await read('gpu.Dockerfile');
    assert.match(text, /CMD \["reindex-worker", "--concurrency", "1", "--device", "cuda"\]/);
    assert.match(text, /ARG CUDA_RUNTIME_IMAGE=nvidia\/cuda:12\.[0-9.]+-cudnn-runtime-/);
  });

  const breakages: Array<[string, string, (text: string) => string, RegExp]> = [
    ['running as root', 'cpu.Dockerfile', (t) => t.replace('USER 10001:10001', 'USER root'), /non-root USER/],
    [
      'shell-form ENTRYPOINT (signals would go to sh)',
      'cpu.Dockerfile',
      (t) => t.replace('ENTRYPOINT ["/usr/bin/tini", "--"]', 'ENTRYPOINT /usr/bin/tini --'),
      /ENTRYPOINT must be/,
    ],
    ['no HEALTHCHECK', 'cpu.Dockerfile', (t) => t.replace(/HEALTHCHECK[^\n]*\\\n[^\n]*\n/, ''), /no HEALTHCHECK/],
    [
      'GPU image without the CUDA provider',
      'gpu.Dockerfile',
      (t) => t.replace('ONNXRUNTIME_NODE_INSTALL=cuda12 node script/install', 'true'),
      /ONNXRUNTIME_NODE_INSTALL=cuda12/,
    ],
    [
      'COPY from a stage that does not exist',
      'cpu.Dockerfile',
      (t) => t.replace('COPY --from=build /app/bin', 'COPY --from=builder /app/bin'),
      /names no earlier stage/,
    ],
    [
      'faiss not built',
      'cpu.Dockerfile',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a Dockerfile line, with its own ${} substitution
      (t) => t.replace('RUN FAISS_OPT_LEVEL="${FAISS_OPT_LEVEL}" bash scripts/build-faiss.sh', 'RUN true'),
      /scripts\/build-faiss.sh/,
    ],
    ['misspelt instruction', 'cpu.Dockerfile', (t) => t.replace('WORKDIR /app', 'WORKDRI /app'), /unknown instruction WORKDRI/],
  ];
  for (const [what, name, breakIt, expected] of breakages) {
    test(`rejects ${what}`, async () => {
      const original = await read(name);
      const broken = breakIt(original);
      assert.notEqual(broken, original, 'the breakage applies');
      const problems = lintDockerfile(broken, IMAGES[name] as ImageExpectations);
      assert.ok(
        problems.some((p) => expected.test(p)),
        problems.join('\n'),
      );
    });
  }

  test('each Dockerfile has its BuildKit ignore file, keeping host builds out of the context', async () => {
    const [cpu, gpu] = await Promise.all([read('cpu.Dockerfile.dockerignore'), read('gpu.Dockerfile.dockerignore')]);
    assert.equal(cpu, gpu);
    for (const pattern of ['.git', '**/node_modules', '**/dist', 'packages/faiss/native/build']) assert.ok(cpu.split('\n').includes(pattern), pattern);
  });
});

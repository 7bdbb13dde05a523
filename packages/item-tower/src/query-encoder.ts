/**
 * The query tower of a bundle: query texts → H unit vectors each (`[n × H × dim]`), scored
 * against items with the helpers of `fusion.ts`. Used by quality checks and tools; serving
 * fleets run query.onnx themselves.
 */
import type { ModelBundle } from './bundle.js';
import { loadBundle } from './bundle.js';
import type { FusionRule } from './bundle-manifest.js';
import { compareModelIo, expectedQueryIo } from './model-io.js';
import type { SessionOptions } from './session-options.js';
import { SESSION_DEFAULTS } from './session-options.js';
import { TextTokenizer } from './text-tokenizer.js';
import { WorkerSession, nonFiniteRows } from './worker-session.js';
import { BundleError, BundleMismatchError, EmbeddingValidationError } from './errors.js';

export class QueryEncoder {
  private readonly tokenizer = new TextTokenizer();

  private constructor(
    readonly bundle: ModelBundle,
    private readonly session: WorkerSession,
  ) {}

  static async create(bundle: ModelBundle | string, options: Partial<SessionOptions> = {}): Promise<QueryEncoder> {
    const b = typeof bundle === 'string' ? await loadBundle(bundle) : bundle;
    if (b.queryModelPath === null || b.manifest.query === undefined) {
      throw new BundleError('BUNDLE_INVALID', `bundle ${b.dir} has no query tower (bundle.json declares no "query")`);
    }
    const session = await WorkerSession.open(b.queryModelPath, { ...SESSION_DEFAULTS, ...options });
    const problems = compareModelIo(expectedQueryIo(b.manifest), session);
    if (problems.length > 0) {
      await session.close();
      throw new BundleMismatchError(b.queryModelPath, problems);
    }
    return new QueryEncoder(b, session);
  }

  get heads(): number {
    return this.bundle.manifest.query!.heads;
  }

  get fusion(): FusionRule {
    return this.bundle.manifest.query!.fusion;
  }

  /** Head embeddings of each query: `queries.length × heads × dim`. Empty queries are allowed. */
  async encode(queries: readonly string[]): Promise<Float32Array> {
    const q = this.bundle.manifest.query!;
    const L = q.input.maxLength;
    const n = queries.length;
    const ids = new Int32Array(n * L);
    const mask = new Float32Array(n * L);
    queries.forEach((text, i) => {
      const count = this.tokenizer.hashTokens(text, q.input, ids, i * L);
      mask.fill(1, i * L, i * L + count);
    });
    const idData = q.input.dtype === 'int64' ? BigInt64Array.from(ids, (v) => BigInt(v)) : ids;
    const r = await this.session.run(
      [
        { name: q.input.input, dtype: q.input.dtype, dims: [n, L], data: idData },
        { name: q.input.maskInput, dtype: 'float32', dims: [n, L], data: mask },
      ],
      q.output,
    );
    const dim = this.bundle.manifest.dim;
    if (r.dims.join() !== [n, q.heads, dim].join()) {
      throw new EmbeddingValidationError(`${this.bundle.queryModelPath} returned shape [${r.dims.join(', ')}], expected [${n}, ${q.heads}, ${dim}]`, []);
    }
    const badRows = nonFiniteRows(r.data, n);
    if (badRows.length > 0) {
      throw new EmbeddingValidationError(
        `${this.bundle.queryModelPath} produced NaN/Inf for queries ${badRows.map((i) => JSON.stringify(queries[i])).join(', ')}`,
        [],
      );
    }
    return r.data;
  }

  async close(): Promise<void> {
    await this.session.close();
  }
}

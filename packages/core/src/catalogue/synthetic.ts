import { MULBERRY32_INCREMENT, mulberry32Output } from '../util/prng.js';
/**
 * A generated catalogue of clustered vectors, for scale runs that must not wait for an item
 * tower or a disk full of Parquet: `synthetic:gmm?items=100000000&dim=128&modes=4096&seed=1`.
 * Every row is a pure function of (parameters, row number), so shards, samples and retries read
 * the same rows in any order without anything stored. Rows are `{ id, embedding }`: map
 * `catalogue.fields.embedding` to `embedding` and the item tower is skipped.
 *
 * The vectors are a Gaussian mixture, not uniform noise: uniform noise has no cluster structure
 * for IVF to exploit (every list is equally far), so its recall and list balance say nothing
 * about a catalogue. Mode sizes are skewed like category sizes in a shop (a few huge, a long
 * tail): mode = floor(modes × u²) for uniform u, so the first modes are the largest. Inside a
 * mode, items vary mostly along `rank` latent directions (shared by all modes) plus a little
 * isotropic noise: learned embeddings have a low intrinsic dimension, and isotropic noise in 128
 * dimensions would make every item almost equidistant from every other, which no index (and no
 * real catalogue) looks like.
 */
import { CatalogueError } from '../errors.js';
import { createPrng, deriveSeed } from '../util/prng.js';
import type { CatalogueRow } from './catalogue-types.js';

export const SYNTHETIC_SCHEME = 'synthetic:';

/** Parameters of a generated catalogue (every one is in its URL). */
export interface SyntheticSpec {
  kind: 'gmm';
  items: number;
  dim: number;
  /** Mixture components ("categories"). */
  modes: number;
  /** Spread of an item around its mode's centre along the latent directions (the centres are unit vectors). */
  spread: number;
  /** Latent directions items vary along (the data's intrinsic dimension). */
  rank: number;
  seed: number;
}

/** Defaults of the optional URL parameters. */
export const SYNTHETIC_DEFAULTS = { dim: 128, modes: 4096, spread: 0.5, rank: 16, seed: 1 } as const;

/** Isotropic noise beside the latent spread, relative to it. */
const ISOTROPIC_NOISE = 0.1;

/** The field names of a generated row. */
export const SYNTHETIC_FIELDS = { id: 'id', embedding: 'embedding' } as const;

/** Rows per virtual "row group": the planner cuts shards anywhere, this only sizes reads. */
export const SYNTHETIC_ROWS_PER_GROUP = 100_000;

export function isSyntheticUrl(url: string): boolean {
  return url.startsWith(SYNTHETIC_SCHEME);
}

/** Parses `synthetic:gmm?items=N[&dim=D][&modes=M][&spread=S][&rank=R][&seed=X]`, naming the parameter at fault. */
export function parseSyntheticUrl(url: string): SyntheticSpec {
  const fail = (detail: string): never => {
    throw new CatalogueError('CATALOGUE_URL_INVALID', `invalid synthetic catalogue ${JSON.stringify(url)}: ${detail}`);
  };
  const rest = url.slice(SYNTHETIC_SCHEME.length);
  const q = rest.indexOf('?');
  const kind = q < 0 ? rest : rest.slice(0, q);
  if (kind !== 'gmm') fail(`unknown generator "${kind}" (supported: gmm)`);
  const params = new URLSearchParams(q < 0 ? '' : rest.slice(q + 1));
  const known = new Set(['items', 'dim', 'modes', 'spread', 'rank', 'seed']);
  for (const key of params.keys()) if (!known.has(key)) fail(`unknown parameter "${key}" (known: ${[...known].join(', ')})`);
  const int = (name: string, min: number, max: number, fallback?: number): number => {
    const raw = params.get(name);
    if (raw === null) return fallback ?? fail(`parameter "${name}" is required`);
    const value = Number(raw);
    if (!Number.isSafeInteger(value) || value < min || value > max) fail(`"${name}" must be an integer in [${min}, ${max}], got ${JSON.stringify(raw)}`);
    return value;
  };
  const spreadRaw = params.get('spread');
  const spread = spreadRaw === null ? SYNTHETIC_DEFAULTS.spread : Number(spreadRaw);
  if (!Number.isFinite(spread) || spread <= 0 || spread > 10) fail(`"spread" must be a number in (0, 10], got ${JSON.stringify(spreadRaw)}`);
  return {
    kind: 'gmm',
    items: int('items', 1, Number.MAX_SAFE_INTEGER),
    dim: int('dim', 1, 65_536, SYNTHETIC_DEFAULTS.dim),
    modes: int('modes', 1, 1 << 20, SYNTHETIC_DEFAULTS.modes),
    spread,
    rank: int('rank', 1, 1024, SYNTHETIC_DEFAULTS.rank),
    seed: int('seed', 0, 0xffffffff, SYNTHETIC_DEFAULTS.seed),
  };
}

/** The canonical URL of a spec (every parameter spelled out). */
export function syntheticUrl(spec: Omit<SyntheticSpec, 'kind'>): string {
  return `${SYNTHETIC_SCHEME}gmm?items=${spec.items}&dim=${spec.dim}&modes=${spec.modes}&spread=${spec.spread}&rank=${spec.rank}&seed=${spec.seed}`;
}

/** Generates the rows of one {@link SyntheticSpec}; holds only the mode centres (modes × dim floats). */
export class SyntheticVectors {
  readonly #centres: Float32Array;
  /** `rank × dim` latent directions, each of length spread/√rank (an item's offset then has length ≈ spread). */
  readonly #latent: Float64Array;
  /** The row being generated, in float64 (float32 element arithmetic is slower in V8). */
  readonly #acc: Float64Array;
  readonly #noise: number;
  readonly #z: Float64Array;
  #spare = 0;
  #hasSpare = false;
  /** mulberry32 state of the row being generated (util/prng's generator, reseeded per row). */
  #state = 0;
  readonly #random = (): number => {
    this.#state = (this.#state + MULBERRY32_INCREMENT) >>> 0;
    return mulberry32Output(this.#state) / 4294967296;
  };

  constructor(readonly spec: SyntheticSpec) {
    const { dim, modes, seed } = spec;
    this.#centres = new Float32Array(modes * dim);
    const random = createPrng(deriveSeed(seed, 0x63656e74)); // "cent"
    for (let m = 0; m < modes; m++) {
      const c = this.#centres.subarray(m * dim, (m + 1) * dim);
      for (let d = 0; d < dim; d++) c[d] = this.#gaussian(random);
      normalize(c);
    }
    this.#latent = new Float64Array(spec.rank * dim);
    this.#acc = new Float64Array(dim);
    for (let r = 0; r < spec.rank; r++) {
      const direction = this.#latent.subarray(r * dim, (r + 1) * dim);
      for (let d = 0; d < dim; d++) direction[d] = this.#gaussian(random);
      let norm = 0;
      for (let d = 0; d < dim; d++) norm += direction[d]! * direction[d]!;
      const scale = spec.spread / Math.sqrt(spec.rank) / Math.sqrt(norm);
      for (let d = 0; d < dim; d++) direction[d]! *= scale;
    }
    this.#noise = (spec.spread * ISOTROPIC_NOISE) / Math.sqrt(dim);
    this.#z = new Float64Array(spec.rank);
  }

  /** The mixture component row `row` belongs to. */
  modeOf(row: number): number {
    const u = createPrng(deriveSeed(this.spec.seed ^ 0x6d6f6465, row))(); // "mode"
    return Math.min(this.spec.modes - 1, Math.floor(this.spec.modes * u * u));
  }

  /** Writes row `row`'s unit vector into `out` (length dim). */
  vectorInto(row: number, out: Float32Array): void {
    const { dim } = this.spec;
    const mode = this.modeOf(row);
    this.#state = deriveSeed(this.spec.seed, row);
    const random = this.#random;
    this.#hasSpare = false;
    const centre = this.#centres.subarray(mode * dim, (mode + 1) * dim);
    const { rank } = this.spec;
    const z = this.#z;
    for (let r = 0; r < rank; r++) z[r] = this.#gaussian(random);
    const acc = this.#acc;
    // The small isotropic part is uniform of the same variance: 128 Gaussian deviates per row
    // would be most of the generator's time, for noise that only keeps items off the subspace.
    const halfWidth = this.#noise * Math.sqrt(3);
    for (let d = 0; d < dim; d++) acc[d] = centre[d]! + halfWidth * (2 * random() - 1);
    const latent = this.#latent;
    for (let r = 0; r < rank; r++) {
      const zr = z[r]!;
      const base = r * dim;
      for (let d = 0; d < dim; d++) acc[d] = acc[d]! + zr * latent[base + d]!;
    }
    let sum = 0;
    for (let d = 0; d < dim; d++) sum += acc[d]! * acc[d]!;
    const scale = sum > 0 ? 1 / Math.sqrt(sum) : 0;
    for (let d = 0; d < dim; d++) out[d] = acc[d]! * scale;
  }

  /** Rows `[start, end)` as catalogue rows `{ id: row, embedding }` located at `file#row`. */
  rows(file: string, start: number, end: number): CatalogueRow[] {
    const { dim } = this.spec;
    // One buffer per call: the rows' embeddings are views into it, not dim-sized allocations each.
    const buffer = new Float32Array((end - start) * dim);
    const out: CatalogueRow[] = [];
    for (let row = start; row < end; row++) {
      const embedding = buffer.subarray((row - start) * dim, (row - start + 1) * dim);
      this.vectorInto(row, embedding);
      out.push({ location: { file, row }, value: { [SYNTHETIC_FIELDS.id]: row, [SYNTHETIC_FIELDS.embedding]: embedding } });
    }
    return out;
  }

  /** Standard normal deviates (Marsaglia's polar method, both halves used: no trigonometry). */
  #gaussian(random: () => number): number {
    if (this.#hasSpare) {
      this.#hasSpare = false;
      return this.#spare;
    }
    let u: number;
    let v: number;
    let s: number;
    do {
      u = 2 * random() - 1;
      v = 2 * random() - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const f = Math.sqrt((-2 * Math.log(s)) / s);
    this.#spare = v * f;
    this.#hasSpare = true;
    return u * f;
  }
}

function normalize(v: Float32Array): void {
  let sum = 0;
  for (let i = 0; i < v.length; i++) sum += v[i]! * v[i]!;
  const scale = sum > 0 ? 1 / Math.sqrt(sum) : 0;
  for (let i = 0; i < v.length; i++) v[i]! *= scale;
}

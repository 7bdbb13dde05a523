/**
 * Seeded pseudo-random numbers for the reference model: xoshiro128** seeded by splitmix32.
 * Only integer ops and one multiply-add per float are used, so weights are bit-identical on every
 * machine and Node version (Math.log/Math.cos based Gaussians are not guaranteed to be).
 */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    let s = seed >>> 0;
    const next = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
  }

  /** Next unsigned 32-bit integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** Uniform in [0, 1). */
  nextFloat(): number {
    return this.nextUint32() / 4294967296;
  }

  /**
   * Fills `out` with zero-mean values of standard deviation `std`, uniformly distributed.
   * Random projections need only i.i.d. zero-mean entries of known variance, not Gaussians.
   */
  fillUniform(out: Float32Array, std: number, from = 0, to = out.length): void {
    const half = std * Math.sqrt(3);
    for (let i = from; i < to; i++) out[i] = (this.nextFloat() * 2 - 1) * half;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

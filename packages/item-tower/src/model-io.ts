/**
 * Checks the inputs and outputs an ONNX model declares (as onnxruntime reports them) against
 * bundle.json, so that a bundle exported with the wrong names, dtypes or shapes fails at load
 * time with every mismatch named, before any shard work starts.
 */
import type { BundleManifest } from './bundle-manifest.js';
import { featureWidth } from './feature-spec.js';

/** What onnxruntime reports for one model input or output. */
export interface ModelValueInfo {
  name: string;
  isTensor: boolean;
  /** onnxruntime tensor type ("float32", "int64", ...), when a tensor. */
  type?: string;
  /** Dimensions: numbers for fixed sizes, strings (or -1) for symbolic ones. */
  shape?: readonly (number | string)[];
}

/** A tensor the bundle expects: dtype and shape, where null means "any (symbolic) size". */
interface Expected {
  name: string;
  dtype: string;
  shape: readonly (number | null)[];
}

/** Inputs and output expected of the item tower. */
export function expectedItemIo(m: BundleManifest): { inputs: Expected[]; outputs: Expected[] } {
  const inputs: Expected[] = [];
  for (const f of m.item.features) {
    const width = featureWidth(f);
    inputs.push({ name: f.input, dtype: f.dtype, shape: [null, width] });
    if (f.kind === 'text') inputs.push({ name: f.maskInput, dtype: 'float32', shape: [null, width] });
  }
  return { inputs, outputs: [{ name: m.item.output, dtype: 'float32', shape: [null, m.dim] }] };
}

/** Inputs and output expected of the query tower (the manifest must have `query`). */
export function expectedQueryIo(m: BundleManifest): { inputs: Expected[]; outputs: Expected[] } {
  const q = m.query!;
  return {
    inputs: [
      { name: q.input.input, dtype: q.input.dtype, shape: [null, q.input.maxLength] },
      { name: q.input.maskInput, dtype: 'float32', shape: [null, q.input.maxLength] },
    ],
    outputs: [{ name: q.output, dtype: 'float32', shape: [null, q.heads, m.dim] }],
  };
}

/**
 * Compares declared model values with the expectation; returns one message per mismatch.
 * Every expected input must exist (and the model may have no others: onnxruntime would refuse
 * to run without them); the expected output must exist, extra outputs are ignored.
 */
export function compareModelIo(
  expected: { inputs: Expected[]; outputs: Expected[] },
  actual: { inputs: readonly ModelValueInfo[]; outputs: readonly ModelValueInfo[] },
): string[] {
  const problems: string[] = [];
  const check = (kind: 'input' | 'output', want: Expected, have: readonly ModelValueInfo[]): void => {
    const got = have.find((v) => v.name === want.name);
    if (got === undefined) {
      const names = have.map((v) => `"${v.name}"`).join(', ');
      problems.push(`${kind} "${want.name}" is missing (the model's ${kind}s are ${names || 'none'})`);
      return;
    }
    if (!got.isTensor) {
      problems.push(`${kind} "${want.name}" is not a tensor`);
      return;
    }
    if (got.type !== want.dtype) problems.push(`${kind} "${want.name}" has dtype ${got.type ?? 'unknown'}, expected ${want.dtype}`);
    const shape = got.shape ?? [];
    if (shape.length === 0) return; // Shape not declared in the graph: checked on the first batch.
    const show = (s: readonly (number | string | null)[]): string =>
      `[${s.map((d) => (d === null ? 'batch' : typeof d === 'string' ? d : String(d))).join(', ')}]`;
    if (shape.length !== want.shape.length) {
      problems.push(`${kind} "${want.name}" has shape ${show(shape)}, expected rank ${want.shape.length} ${show(want.shape)}`);
      return;
    }
    const batchDim = shape[0];
    if (typeof batchDim === 'number' && batchDim > 0) {
      problems.push(`${kind} "${want.name}" has a fixed batch dimension ${batchDim}; export with a dynamic batch axis (dynamic_axes)`);
    }
    for (let i = 1; i < want.shape.length; i++) {
      const d = shape[i];
      if (typeof d === 'number' && d > 0 && d !== want.shape[i]) {
        problems.push(`${kind} "${want.name}" dimension ${i} is ${d}, expected ${want.shape[i]} (from bundle.json)`);
      }
    }
  };
  for (const want of expected.inputs) check('input', want, actual.inputs);
  for (const got of actual.inputs) {
    if (!expected.inputs.some((w) => w.name === got.name)) {
      problems.push(`input "${got.name}" is not declared by any feature in bundle.json`);
    }
  }
  for (const want of expected.outputs) check('output', want, actual.outputs);
  return problems;
}

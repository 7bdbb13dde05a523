import { ReindexError } from '@reindex/core';
/**
 * Errors of the item tower. Every error carries a stable string `code` that callers switch on
 * (messages may be reworded; codes may not) and chains the underlying error as `cause`.
 */

/** Stable codes of {@link ItemTowerError}. */
export type ItemTowerErrorCode =
  | 'BUNDLE_NOT_FOUND'
  | 'BUNDLE_INVALID'
  | 'BUNDLE_CHANGED'
  | 'BUNDLE_MODEL_MISMATCH'
  | 'EXECUTION_PROVIDER_UNAVAILABLE'
  | 'INFERENCE_FAILED'
  | 'EMBEDDING_INVALID'
  | 'INVALID_OPTION'
  | 'EMBEDDER_CLOSED';

export class ItemTowerError extends ReindexError {
  declare readonly code: ItemTowerErrorCode;

  constructor(code: ItemTowerErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** bundle.json or a model file is missing, unreadable, or does not follow the bundle contract. */
export class BundleError extends ItemTowerError {}

/** The ONNX model's inputs or outputs (names, dtypes, shapes) disagree with bundle.json. */
export class BundleMismatchError extends BundleError {
  /** One line per mismatch, each naming the tensor at fault. */
  readonly mismatches: readonly string[];

  constructor(modelFile: string, mismatches: readonly string[]) {
    super('BUNDLE_MODEL_MISMATCH', `${modelFile} does not match bundle.json: ${mismatches.join('; ')}`);
    this.mismatches = mismatches;
  }
}

/** An execution provider was asked for that this machine or build cannot provide. */
export class ExecutionProviderError extends ItemTowerError {}

/** onnxruntime failed while running a batch. */
export class InferenceError extends ItemTowerError {}

/** A batch produced NaN/Inf values or vectors of the wrong dimension. */
export class EmbeddingValidationError extends ItemTowerError {
  /** Ids of the items whose embeddings are invalid (all items of the batch for a shape error). */
  readonly itemIds: readonly bigint[];

  constructor(message: string, itemIds: readonly bigint[]) {
    super('EMBEDDING_INVALID', message);
    this.itemIds = itemIds;
  }
}

import { mapped } from './errors.js';
import { native } from './native.js';

export interface OnDiskMergeOptions {
  /** The trained, empty index every part was cloned from. */
  trainedIndexPath: string;
  /** Sub-index files to merge; they are memory-mapped, never loaded. */
  parts: string[];
  /** Where to write the merged index (standard faiss file naming `dataPath`). */
  outIndexPath: string;
  /**
   * Where the inverted lists go (faiss OnDiskInvertedLists). Readers find it beside the index
   * file by its base name, so publish the two side by side.
   */
  dataPath: string;
}

export interface OnDiskMergeResult {
  ntotal: number;
  dataBytes: number;
}

/**
 * Merges IVF sub-indexes into one index whose inverted lists live in a single data file.
 * Memory does not grow with the number or size of parts: the parts' lists are mapped from
 * their files and copied list by list into the data file.
 */
export function mergeOnDisk(options: OnDiskMergeOptions): Promise<OnDiskMergeResult> {
  return mapped(() => native.mergeOnDisk(options.trainedIndexPath, options.parts, options.outIndexPath, options.dataPath));
}

import { checkInvariants } from './invariants.js';
import { renderKustomization, type K8sObject } from './kustomize.js';
import { validateObject } from './schemas.js';

export interface OverlayReport {
  objects: K8sObject[];
  /** Schema problems and invariant problems together; empty when the overlay is sound. */
  problems: string[];
  optionalMissing: string[];
}

/** Renders a kustomization and runs every check on the result. */
export async function checkOverlay(dir: string): Promise<OverlayReport> {
  const objects = await renderKustomization(dir);
  const schemaProblems = objects.flatMap(validateObject);
  const { problems, optionalMissing } = checkInvariants(objects);
  return { objects, problems: [...schemaProblems, ...problems], optionalMissing };
}

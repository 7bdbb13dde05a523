import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file is packages/infra-check/{src,dist}/paths.*). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const INFRA_DIR = resolve(REPO_ROOT, 'infra');
export const OVERLAYS = ['dev', 'production'] as const;
export type OverlayName = (typeof OVERLAYS)[number];
export const overlayDir = (overlay: OverlayName | string): string => resolve(INFRA_DIR, 'k8s/overlays', overlay);

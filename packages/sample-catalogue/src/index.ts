export * from './generator.js';
export * from './writers.js';
export { zipfCdf } from './rng.js';

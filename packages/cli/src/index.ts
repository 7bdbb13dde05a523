export { CliError, parseRunArgs, type RunArgs } from './args.js';
export { runBuild, type RunSummary } from './run.js';

import { BuildFailedError } from '@reindex/coordinator';
import { CliError } from './args.js';

/** What `--json` prints when a command fails: the stage and shard at fault, the code, the message. */
export function failureJson(error: unknown): {
  ok: false;
  code: string;
  message: string;
  option?: string;
  buildId?: string;
  stage?: string;
  shard?: number;
} {
  const err = error as Error & { code?: string; option?: string };
  const out: ReturnType<typeof failureJson> = {
    ok: false,
    code: error instanceof CliError ? 'USAGE' : error instanceof BuildFailedError ? (error.causeCode ?? error.code) : (err.code ?? 'ERROR'),
    message: err.message,
    ...(err.option !== undefined ? { option: err.option } : {}),
  };
  if (error instanceof BuildFailedError) {
    out.buildId = error.buildId;
    const shard = /^shard (\d+)$/.exec(error.stage);
    out.stage = shard ? 'shards' : error.stage;
    if (shard) out.shard = Number(shard[1]);
  }
  return out;
}

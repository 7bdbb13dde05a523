import { DockerfileParser, type Instruction } from 'dockerfile-ast';

/** What one image must do; see infra/docker/*.Dockerfile. */
export interface ImageExpectations {
  /** The final stage's CMD program. */
  command: string;
  /** `skip` for CPU images, `cuda12` for the GPU image (onnxruntime-node's install script). */
  onnxruntimeInstall: 'skip' | 'cuda12';
}

const KEYWORDS = new Set([
  'FROM',
  'ARG',
  'ENV',
  'RUN',
  'COPY',
  'ADD',
  'WORKDIR',
  'USER',
  'EXPOSE',
  'HEALTHCHECK',
  'ENTRYPOINT',
  'CMD',
  'LABEL',
  'SHELL',
  'STOPSIGNAL',
  'VOLUME',
  'ONBUILD',
]);

/**
 * Parses a Dockerfile with dockerfile-ast (the parser of the VS Code Docker extension) and
 * checks what our images promise: known instructions, JSON (exec) form where signals matter,
 * a multi-stage build whose stages exist, the faiss build of scripts/build-faiss.sh, a
 * non-root user, tini as PID 1 and a HEALTHCHECK in the final stage.
 */
export function lintDockerfile(text: string, expect: ImageExpectations): string[] {
  const problems: string[] = [];
  const dockerfile = DockerfileParser.parse(text);
  const instructions = dockerfile.getInstructions();
  const line = (instruction: Instruction) => `line ${instruction.getRange().start.line + 1}`;
  for (const instruction of instructions) {
    if (!KEYWORDS.has(instruction.getKeyword())) problems.push(`${line(instruction)}: unknown instruction ${instruction.getKeyword()}`);
    if ((instruction.getArgumentsContent() ?? '').trim() === '') problems.push(`${line(instruction)}: ${instruction.getKeyword()} without arguments`);
  }
  const froms = dockerfile.getFROMs();
  const stages = froms.map((from) => from.getBuildStage());
  if (froms.length < 2) problems.push('not a multi-stage build');
  if (!stages.includes('build') || stages[stages.length - 1] !== 'runtime')
    problems.push(`stages must include "build" and end with "runtime", got ${JSON.stringify(stages)}`);
  for (const instruction of instructions.filter((i) => i.getKeyword() === 'COPY')) {
    const from = /--from=(\S+)/.exec(instruction.getTextContent())?.[1];
    if (from !== undefined && !stages.slice(0, stages.length - 1).includes(from))
      problems.push(`${line(instruction)}: COPY --from=${from} names no earlier stage`);
  }
  const lastFrom = froms[froms.length - 1];
  const finalStage = lastFrom === undefined ? [] : instructions.filter((i) => i.getRange().start.line > lastFrom.getRange().start.line);
  const buildStage = instructions.filter((i) => !finalStage.includes(i));
  const runText = (list: Instruction[]) =>
    list
      .filter((i) => i.getKeyword() === 'RUN')
      .map((i) => i.getArgumentsContent() ?? '')
      .join('\n');
  const buildRuns = runText(buildStage);
  for (const step of ['scripts/build-faiss.sh', 'pnpm install --frozen-lockfile', 'pnpm run build', 'corepack prepare', 'link-bins.mjs']) {
    if (!buildRuns.includes(step)) problems.push(`build stage does not run ${step} (the steps of scripts/setup.sh)`);
  }
  if (!/!\s*ldd .*reindex_faiss\.node \| grep -q libfaiss/.test(buildRuns))
    problems.push('build stage does not check that faiss is linked statically into the addon');
  const buildEnv = buildStage
    .filter((i) => i.getKeyword() === 'ENV')
    .map((i) => i.getArgumentsContent() ?? '')
    .join('\n');
  if (!/ONNXRUNTIME_NODE_INSTALL=skip/.test(buildEnv))
    problems.push('build stage must install with ONNXRUNTIME_NODE_INSTALL=skip (CPU binaries ship in the tarball)');
  const cudaInstall = /ONNXRUNTIME_NODE_INSTALL=cuda12 node script\/install/.test(buildRuns);
  if (expect.onnxruntimeInstall === 'cuda12' && !cudaInstall)
    problems.push("GPU image must run onnxruntime-node's install script with ONNXRUNTIME_NODE_INSTALL=cuda12");
  if (expect.onnxruntimeInstall === 'skip' && cudaInstall) problems.push('CPU image must not fetch the CUDA execution provider');
  const finalRuns = runText(finalStage);
  if (/-dev\b|\bg\+\+|\bcmake\b/.test(finalRuns)) problems.push('runtime stage installs build tools or -dev packages');
  if (!/libopenblas0/.test(finalRuns) || !/libgomp1/.test(finalRuns)) problems.push('runtime stage must install the OpenBLAS and OpenMP runtime libraries');
  const last = (keyword: string) => finalStage.filter((i) => i.getKeyword() === keyword).pop();
  const user = last('USER')?.getArgumentsContent()?.trim();
  if (user === undefined || /^(root|0)(:|$)/.test(user)) problems.push(`final stage must switch to a non-root USER, got ${JSON.stringify(user)}`);
  if (last('HEALTHCHECK') === undefined) problems.push('final stage has no HEALTHCHECK');
  const entrypoint = exec(last('ENTRYPOINT'));
  if (entrypoint === undefined || !/\/tini$/.test(entrypoint[0] ?? '') || entrypoint[1] !== '--')
    problems.push(`ENTRYPOINT must be ["/usr/bin/tini", "--"] in exec form, got ${JSON.stringify(entrypoint ?? last('ENTRYPOINT')?.getArgumentsContent())}`);
  const cmd = exec(last('CMD'));
  if (cmd === undefined || cmd[0] !== expect.command)
    problems.push(`CMD must run ${expect.command} in exec form, got ${JSON.stringify(cmd ?? last('CMD')?.getArgumentsContent())}`);
  return problems;
}

/** The JSON array of an exec-form instruction; undefined for shell form. */
function exec(instruction: Instruction | undefined): string[] | undefined {
  const content = instruction?.getArgumentsContent()?.trim();
  if (content === undefined || !content.startsWith('[')) return undefined;
  try {
    const parsed = JSON.parse(content) as unknown;
    return Array.isArray(parsed) && parsed.every((item) => typeof item === 'string') ? parsed : undefined;
  } catch {
    return undefined;
  }
}

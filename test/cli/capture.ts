import type { CliOutput } from '../../src/cli/output.ts';

/** An output writer that keeps what a command printed. */
export function captureOutput(): CliOutput & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (line) => stdout.push(line), err: (line) => stderr.push(line) };
}

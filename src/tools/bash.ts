// The `bash` tool: runs a command in the session's persistent shell (cwd and exported variables
// carry across calls), or restarts that shell.
import { defineTool, textOutcome, errorOutcome, INTERRUPTED_MESSAGE } from './builtin-tool.ts';
import { truncateMiddle } from '../domain/truncate.ts';

export const BASH_DEFAULT_TIMEOUT_MS = 120_000;
export const BASH_MAX_TIMEOUT_MS = 600_000;
/**
 * Output captured from the runtime per command. Larger than what the model sees (`truncateMiddle`
 * caps that) so the kept head/tail come from the real output whenever it fits here.
 */
export const BASH_CAPTURE_BYTES = 1024 * 1024;

/*
 * Semantics:
 * - A non-zero exit status is a normal result (`isError: false`) ending in `[exit code N]`:
 *   `grep` finding nothing or `test -f` failing is information, not a tool failure. Exit 0 adds
 *   nothing.
 * - A timeout is `isError: true` ("Command timed out after X ms and was killed"), with the output
 *   produced until then; the runtime restarts the shell, and the result says so since cwd and
 *   exported variables are gone.
 * - `restart: true` restarts the shell; if `command` is also given it then runs in the fresh shell.
 * - Output is stdout and stderr interleaved; past 30,000 characters the middle is cut with a note.
 */
export const bashTool = defineTool({
  name: 'bash',
  description:
    'Run a bash command in a persistent shell session. The working directory and exported environment ' +
    'variables persist between calls; the shell starts in the workspace directory. stdout and stderr ' +
    'are returned together, followed by "[exit code N]" when the command exits non-zero. Long output ' +
    'is truncated in the middle. Commands read no stdin, so avoid interactive programs. ' +
    `Default timeout ${BASH_DEFAULT_TIMEOUT_MS / 1000} s, at most ${BASH_MAX_TIMEOUT_MS / 1000} s via timeout_ms; ` +
    'a command that times out is killed and the shell restarts. Set restart: true to restart a stuck shell.',
  input_schema: {
    type: 'object',
    properties: {
      command: { type: 'string', description: 'The bash command to run. Required unless restart is true.' },
      restart: { type: 'boolean', description: 'Restart the shell (kills running processes, resets cwd and environment).' },
      timeout_ms: {
        type: 'integer',
        minimum: 1,
        maximum: BASH_MAX_TIMEOUT_MS,
        description: `Timeout in milliseconds (default ${BASH_DEFAULT_TIMEOUT_MS}, max ${BASH_MAX_TIMEOUT_MS}).`,
      },
    },
    additionalProperties: false,
  },
  async handler(input, rt, signal) {
    const command = input.command as string | undefined | null;
    const restart = input.restart === true;
    const timeoutMs = (input.timeout_ms as number | undefined | null) ?? BASH_DEFAULT_TIMEOUT_MS;

    if (restart) {
      await rt.restartShell();
      if (signal.aborted) return errorOutcome(INTERRUPTED_MESSAGE);
      if (command == null || command.trim() === '') return textOutcome('The shell was restarted.');
    }
    if (command == null) return errorOutcome("Invalid input for bash: missing required field 'command' (or set restart: true)");
    if (command.trim() === '') return errorOutcome("Invalid input for bash: 'command' must not be empty");
    if (command.includes('\0')) return errorOutcome("Invalid input for bash: 'command' must not contain NUL bytes");

    const res = await rt.shell(command, { timeoutMs, maxOutputBytes: BASH_CAPTURE_BYTES, signal });
    const parts: string[] = [];
    if (restart) parts.push('The shell was restarted.');
    let output = res.output.endsWith('\n') ? res.output.slice(0, -1) : res.output;
    output = truncateMiddle(output);
    if (output !== '') parts.push(output);
    if (res.droppedBytes > 0) {
      parts.push(`[... ${res.droppedBytes} further bytes of output were not captured (capture limit ${BASH_CAPTURE_BYTES} bytes) ...]`);
    }

    if (res.timedOut) {
      parts.push(`Command timed out after ${timeoutMs} ms and was killed. The shell was restarted: the working directory and environment variables were reset.`);
      return errorOutcome(parts.join('\n'));
    }
    if (signal.aborted) {
      parts.push('Command was interrupted and killed. The shell was restarted: the working directory and environment variables were reset.');
      return errorOutcome(parts.join('\n'));
    }
    if (res.exitCode === null) {
      parts.push('Command was killed before it exited (no exit status).');
      return errorOutcome(parts.join('\n'));
    }
    if (res.exitCode !== 0) parts.push(`[exit code ${res.exitCode}]`);
    return textOutcome(parts.length > 0 ? parts.join('\n') : '(no output)');
  },
});

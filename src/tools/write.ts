// The `write` tool: creates or overwrites a file with exactly the given content.
import { defineTool, textOutcome, ToolFailure } from './builtin-tool.ts';
import { resolvePath } from './paths.ts';
import { statPath, writeBytes } from './sandbox-fs.ts';

/*
 * Semantics: missing parent directories are created; an existing file is overwritten in place
 * (its mode, owner and any symlink pointing at it are kept). The content is written byte for byte
 * as UTF-8, no newline added. Writing where the sandbox forbids it fails with the kernel's reason
 * ("Permission denied", "Read-only file system") in the message. The reply states the byte count
 * and whether the file was created or overwritten.
 */
export const writeTool = defineTool({
  name: 'write',
  description:
    'Write a file with the given content, creating parent directories as needed and overwriting any existing ' +
    'file. The content is written exactly as given (no trailing newline is added). Relative paths are resolved ' +
    'against the workspace directory. Prefer edit for changing part of an existing file.',
  input_schema: {
    type: 'object',
    properties: {
      file_path: { type: 'string', description: 'Path of the file to write (absolute, or relative to the workspace).' },
      content: { type: 'string', description: 'The full content of the file.' },
    },
    required: ['file_path', 'content'],
    additionalProperties: false,
  },
  async handler(input, rt, signal) {
    const path = resolvePath(input.file_path as string, rt.workspace);
    const content = input.content as string;
    // A clear message beats "cat: ...: Is a directory" from the shell.
    const info = await statPath(rt, path, signal);
    if (info.kind === 'directory') throw new ToolFailure(`Cannot write ${path}: it is a directory`);
    if (info.kind === 'other') throw new ToolFailure(`Cannot write ${path}: it is not a regular file (${info.description})`);
    const data = Buffer.from(content, 'utf8');
    const { existed } = await writeBytes(rt, path, data, signal, true);
    const lines = content === '' ? 0 : content.split('\n').length - (content.endsWith('\n') ? 1 : 0);
    return textOutcome(
      `${existed ? 'Overwrote' : 'Created'} ${path}: wrote ${data.length} byte${data.length === 1 ? '' : 's'} (${lines} line${lines === 1 ? '' : 's'}).`,
    );
  },
});

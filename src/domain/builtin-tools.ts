// Names of the built-in tools that run inside a sandbox (locally, or on a self-hosted worker).
// `web_fetch` and `web_search` always run on the server.
export const SANDBOX_TOOL_NAMES: ReadonlySet<string> = new Set(['bash', 'read', 'write', 'edit', 'glob', 'grep']);

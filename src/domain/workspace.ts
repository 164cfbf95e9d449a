// Workspaces partition an installation: every resource belongs to exactly one. The default workspace
// holds everything created before workspaces existed and everything a single-team installation
// makes; its id is fixed so migrations, both stores and every node agree on it without a lookup.

/** The id of the workspace every installation has from its first start. */
export const DEFAULT_WORKSPACE_ID = 'wrkspc_default';

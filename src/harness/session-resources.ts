// Resolves the `resources` of a session create into stored resource objects, in order: `file`
// resources through the file service, `github_repository` ones through the repository service
// (their sealed tokens go into a hidden session field); mount paths are checked across all of them.
import { invalidRequest } from '../protocol/errors.ts';
import { mountPathsOf } from '../domain/files.ts';
import { REPOSITORY_TOKENS_FIELD } from '../domain/repositories.ts';
import type { CreateSessionParams } from '../protocol/session-schemas.ts';
import type { FileService } from './file-service.ts';
import type { RepositoryService } from './repository-service.ts';
import type { ResolvedResources } from './session-service.ts';
import { isoAt, type Clock } from '../ports/clock.ts';

type Params = NonNullable<CreateSessionParams['resources']>;

export function sessionResourceResolver(deps: { files: FileService; repositories?: RepositoryService; clock: Clock }) {
  return async (params: Params): Promise<ResolvedResources> => {
    const resources: object[] = [];
    const tokens: Record<string, string> = {};
    for (const p of params) {
      if (p.type === 'file') {
        resources.push(...(await deps.files.resolveSessionResources([p], resources)));
      } else if (p.type === 'github_repository') {
        if (!deps.repositories) throw invalidRequest('github_repository session resources are not supported by this server');
        const { resource, sealedToken } = await deps.repositories.resolve(p, mountPathsOf(resources), isoAt(deps.clock.now()));
        resources.push(resource);
        if (sealedToken) tokens[resource.id] = sealedToken;
      } else {
        throw invalidRequest(`${p.type} session resources are not supported by this server yet`);
      }
    }
    return { resources, fields: Object.keys(tokens).length ? { [REPOSITORY_TOKENS_FIELD]: tokens } : {} };
  };
}

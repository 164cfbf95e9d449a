// HTTP routes of the vaults and credentials API (§4.7). Bodies are parsed here; everything about
// secrets (sealing, purging, probing) happens in the VaultService, and only non-secret wire
// objects come back.
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../deps.ts';
import { credentialCreateSchema, credentialUpdateSchema, vaultCreateSchema, vaultUpdateSchema } from '../../protocol/vault-schemas.ts';
import { pageBody, pageParams, parseWith, queryBool, queryOf } from '../http.ts';

type VaultParams = { Params: { vaultId: string } };
type CredentialParams = { Params: { vaultId: string; credentialId: string } };

export function registerVaultRoutes(app: FastifyInstance, deps: AppDeps): void {
  const { vaults } = deps;

  app.post('/v1/vaults', async (req) => vaults.createVault(parseWith(vaultCreateSchema, req.body), req.principal.workspaceId));

  app.get<VaultParams>('/v1/vaults/:vaultId', async (req) => vaults.getVault(req.params.vaultId));

  app.post<VaultParams>('/v1/vaults/:vaultId', async (req) => vaults.updateVault(req.params.vaultId, parseWith(vaultUpdateSchema, req.body)));

  app.get('/v1/vaults', async (req) => {
    const q = queryOf(req);
    const page = pageParams(q, { order: 'desc' });
    return pageBody(await vaults.listVaults({ ...page, includeArchived: queryBool(q, 'include_archived') ?? false, workspaceId: req.principal.workspaceId }), page.order);
  });

  app.delete<VaultParams>('/v1/vaults/:vaultId', async (req) => vaults.deleteVault(req.params.vaultId));

  app.post<VaultParams>('/v1/vaults/:vaultId/archive', async (req) => vaults.archiveVault(req.params.vaultId));

  app.post<VaultParams>('/v1/vaults/:vaultId/credentials', async (req) =>
    vaults.createCredential(req.params.vaultId, parseWith(credentialCreateSchema, req.body)));

  app.get<VaultParams>('/v1/vaults/:vaultId/credentials', async (req) => {
    const q = queryOf(req);
    const page = pageParams(q, { order: 'desc' });
    const result = await vaults.listCredentials(req.params.vaultId, { ...page, includeArchived: queryBool(q, 'include_archived') ?? false });
    return pageBody(result, page.order);
  });

  app.get<CredentialParams>('/v1/vaults/:vaultId/credentials/:credentialId', async (req) =>
    vaults.getCredential(req.params.vaultId, req.params.credentialId));

  app.post<CredentialParams>('/v1/vaults/:vaultId/credentials/:credentialId', async (req) =>
    vaults.updateCredential(req.params.vaultId, req.params.credentialId, parseWith(credentialUpdateSchema, req.body)));

  app.delete<CredentialParams>('/v1/vaults/:vaultId/credentials/:credentialId', async (req) =>
    vaults.deleteCredential(req.params.vaultId, req.params.credentialId));

  app.post<CredentialParams>('/v1/vaults/:vaultId/credentials/:credentialId/archive', async (req) =>
    vaults.archiveCredential(req.params.vaultId, req.params.credentialId));

  app.post<CredentialParams>('/v1/vaults/:vaultId/credentials/:credentialId/mcp_oauth_validate', async (req) =>
    vaults.validateCredential(req.params.vaultId, req.params.credentialId));
}

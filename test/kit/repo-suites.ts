// More of the store port's contract as reusable suites, beside test/kit/store-suite.ts: the vault
// repo (active limit, key uniqueness, compare-and-swap, cascading archive that purges ciphertext,
// rotation queries, the master-key check) and the work repo (one live item per session, hand-outs
// racing across several store instances never handing one item out twice). Every adapter's test
// calls these with a factory of empty stores; `openPeer` (optional) opens another instance on the
// same database, as a second process or node would.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UniqueViolation, type CredentialRow, type Store } from '../../src/ports/store.ts';
import { claimable, handOut, newWorkRow, settle, stop } from '../../src/domain/work.ts';

const NOW = '2026-06-01T00:00:00.000Z';

export function runVaultRepoSuite(name: string, makeStore: () => Promise<Store> | Store): void {
  describe(`store port contract (vaults): ${name}`, () => {
    let store: Store;
    let n = 0;
    beforeEach(async () => {
      store = await makeStore();
    });
    afterEach(async () => {
      await store.close();
    });

    function row(vaultId: string, key: string, over: Partial<CredentialRow> = {}): CredentialRow {
      const id = `vcrd_${++n}`;
      return {
        credential: { type: 'vault_credential', id, vault_id: vaultId, created_at: NOW, updated_at: NOW, archived_at: null, auth: { type: 'static_bearer' } },
        key,
        sealed: `hsb1.k1.${id}`,
        sealedKeyId: 'k1',
        ...over,
      };
    }

    async function vault(id: string) {
      await store.vaults.insert({ type: 'vault', id, display_name: id, metadata: {}, created_at: NOW, updated_at: NOW, archived_at: null });
    }

    it('enforces the active limit and key uniqueness per vault', async () => {
      await vault('vlt_a');
      await vault('vlt_b');
      expect(await store.vaults.insertCredential(row('vlt_a', 'mcp:x'), 2)).toBe('inserted');
      await expect(store.vaults.insertCredential(row('vlt_a', 'mcp:x'), 2)).rejects.toBeInstanceOf(UniqueViolation);
      expect(await store.vaults.insertCredential(row('vlt_b', 'mcp:x'), 2)).toBe('inserted');
      expect(await store.vaults.insertCredential(row('vlt_a', 'mcp:y'), 2)).toBe('inserted');
      expect(await store.vaults.insertCredential(row('vlt_a', 'mcp:z'), 2)).toBe('limit');
    });

    it('keeps the active limit when inserts into one vault race', async () => {
      await vault('vlt_race');
      const results = await Promise.all(Array.from({ length: 8 }, (_, i) => store.vaults.insertCredential(row('vlt_race', `env:K${i}`), 3)));
      expect(results.filter((r) => r === 'inserted')).toHaveLength(3);
      expect((await store.vaults.listCredentials('vlt_race', { limit: 20, order: 'asc', includeArchived: false })).data).toHaveLength(3);
    });

    it('frees an archived key and does not count archived credentials', async () => {
      await vault('vlt_a');
      const first = row('vlt_a', 'env:K');
      await store.vaults.insertCredential(first, 1);
      await store.vaults.updateCredential({ ...first, credential: { ...first.credential, archived_at: NOW }, sealed: null, sealedKeyId: null });
      expect(await store.vaults.insertCredential(row('vlt_a', 'env:K'), 1)).toBe('inserted');
      const archived = await store.vaults.getCredential(first.credential.id);
      expect(archived).toMatchObject({ sealed: null, sealedKeyId: null, credential: { archived_at: NOW } });
    });

    it('updates with compare-and-swap on the sealed value', async () => {
      await vault('vlt_a');
      const r = row('vlt_a', 'mcp:x');
      await store.vaults.insertCredential(r, 20);
      expect(await store.vaults.updateCredential({ ...r, sealed: 'hsb1.k1.two' }, 'stale')).toBe(false);
      expect(await store.vaults.updateCredential({ ...r, sealed: 'hsb1.k1.two' }, r.sealed)).toBe(true);
      expect((await store.vaults.getCredential(r.credential.id))!.sealed).toBe('hsb1.k1.two');
      expect(await store.vaults.updateCredential({ ...r, credential: { ...r.credential, id: 'vcrd_missing' } })).toBe(false);
    });

    it('archives a vault with its active credentials, purging their ciphertext, and deletes everything', async () => {
      await vault('vlt_a');
      const a = row('vlt_a', 'mcp:a');
      const b = row('vlt_a', 'mcp:b');
      await store.vaults.insertCredential(a, 20);
      await store.vaults.insertCredential(b, 20);
      const count = await store.vaults.archiveCascade(
        { type: 'vault', id: 'vlt_a', archived_at: NOW },
        (c) => ({ ...c, archived_at: NOW, updated_at: NOW }),
      );
      expect(count).toBe(2);
      expect((await store.vaults.get('vlt_a'))!.archived_at).toBe(NOW);
      for (const r of [a, b]) expect(await store.vaults.getCredential(r.credential.id)).toMatchObject({ sealed: null, sealedKeyId: null, credential: { archived_at: NOW } });
      expect((await store.vaults.listCredentials('vlt_a', { limit: 10, order: 'asc', includeArchived: false })).data).toEqual([]);
      expect((await store.vaults.listCredentials('vlt_a', { limit: 10, order: 'asc', includeArchived: true })).data).toHaveLength(2);
      expect(await store.vaults.sealedUnderOtherKeys('k9', 10)).toEqual([]);
      expect(await store.vaults.delete('vlt_a')).toBe(true);
      expect(await store.vaults.getCredential(a.credential.id)).toBeUndefined();
      expect(await store.vaults.delete('vlt_a')).toBe(false);
    });

    it('finds active credentials by key across vaults and lists ciphertext under retired keys', async () => {
      await vault('vlt_a');
      await vault('vlt_b');
      await store.vaults.insertCredential(row('vlt_a', 'mcp:x'), 20);
      await store.vaults.insertCredential(row('vlt_b', 'mcp:x', { sealedKeyId: 'k0', sealed: 'hsb1.k0.old' }), 20);
      expect((await store.vaults.findActiveCredentials(['vlt_a', 'vlt_b'], 'mcp:x')).map((r) => r.credential.vault_id).sort()).toEqual(['vlt_a', 'vlt_b']);
      expect(await store.vaults.findActiveCredentials([], 'mcp:x')).toEqual([]);
      expect((await store.vaults.sealedUnderOtherKeys('k1', 10)).map((r) => r.sealed)).toEqual(['hsb1.k0.old']);
    });

    it('stores one master-key check value', async () => {
      expect(await store.vaults.keyCheck()).toBeUndefined();
      await store.vaults.putKeyCheck('hsb1.k1.check', 'k1', NOW);
      await store.vaults.putKeyCheck('hsb1.k2.check', 'k2', NOW);
      expect(await store.vaults.keyCheck()).toBe('hsb1.k2.check');
    });
  });
}

const T0 = Date.parse('2026-01-01T00:00:00.000Z');
const fresh = (id: string, env = 'env_a') => newWorkRow({ id, environmentId: env, data: { type: 'session', id: `sesn_${id}` }, ttlSeconds: 10, nowMs: T0 });

export function runWorkRepoSuite(
  name: string, makeStore: () => Promise<Store> | Store, openPeer?: (first: Store) => Promise<Store> | Store,
): void {
  describe(`store port contract (work queue): ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await makeStore();
    });
    afterEach(async () => {
      await store.close();
    });

    it('inserts one live item per session', async () => {
      expect(await store.work.insertUnlessLive(fresh('work_a'))).toBe(true);
      expect(await store.work.insertUnlessLive({ ...fresh('work_b'), work: { ...fresh('work_b').work, data: { type: 'session', id: 'sesn_work_a' } } })).toBe(false);
      await store.work.update('work_a', (r) => ({ row: stop(r, T0, true), result: null }));
      expect(await store.work.insertUnlessLive({ ...fresh('work_c'), work: { ...fresh('work_c').work, data: { type: 'session', id: 'sesn_work_a' } } })).toBe(true);
    });

    it('inserts one live item per session when inserts race', async () => {
      const same = (i: number) => ({ ...fresh(`work_r${i}`), work: { ...fresh(`work_r${i}`).work, data: { type: 'session', id: 'sesn_race' } } });
      const results = await Promise.all(Array.from({ length: 6 }, (_, i) => store.work.insertUnlessLive(same(i))));
      expect(results.filter(Boolean)).toHaveLength(1);
    });

    it('updates one item atomically and reports a missing one', async () => {
      await store.work.insert(fresh('work_u'));
      const out = await store.work.update('work_u', (r) => ({ row: handOut(settle(r, T0), T0, 'hash-u'), result: 'handed' }));
      expect(out).toEqual({ result: 'handed' });
      expect((await store.work.findByTokenHash('hash-u'))?.work.id).toBe('work_u');
      expect(await store.work.update('work_missing', () => ({ result: 1 }))).toBeUndefined();
      await expect(store.work.update('work_u', () => { throw new Error('abort'); })).rejects.toThrow('abort');
      expect((await store.work.get('work_u'))?.tokenHash).toBe('hash-u');
    });

    it('never hands one item out twice while several instances claim at once (4 instances, 200 items)', async () => {
      for (let i = 0; i < 200; i++) await store.work.insert(fresh(`work_${i}`, 'env_claim'));
      const peers = [store, ...(await Promise.all([1, 2, 3].map(async () => (openPeer ? openPeer(store) : store))))];
      try {
        const claimAll = async (s: Store, p: number) => {
          const got: string[] = [];
          for (let k = 0; ; k++) {
            const now = Date.now();
            const row = await s.work.claim('env_claim', { nowMs: now, handedOutBefore: now - 60_000 }, (r) => {
              const st = settle(r, now);
              return claimable(st, now, 60_000) ? handOut(st, now, `hash-${p}-${k}`) : undefined;
            });
            if (!row) return got;
            got.push(row.work.id);
          }
        };
        // Two concurrent pollers per instance.
        const results = await Promise.all(peers.flatMap((s, p) => [claimAll(s, p * 2), claimAll(s, p * 2 + 1)]));
        const all = results.flat();
        expect(all.length).toBe(200);
        expect(new Set(all).size).toBe(200);
        expect(results.filter((r) => r.length > 0).length, `claims per poller: ${results.map((r) => r.length)}`).toBeGreaterThan(1);
      } finally {
        for (const p of peers.slice(1)) if (p !== store) await p.close();
      }
    }, 60_000);

    it('sums waiting items over every environment: never handed out, or with a lapsed lease', async () => {
      const base = await store.work.waitingTotal(T0);
      await store.work.insert(fresh('work_t1', 'env_t1'));
      await store.work.insert(fresh('work_t2', 'env_t2'));
      await store.work.insert(fresh('work_t3', 'env_t2'));
      expect(await store.work.waitingTotal(T0)).toBe(base + 3);
      // Handed out (unacknowledged) is not waiting; stopped is gone.
      await store.work.update('work_t1', (r) => ({ row: handOut(settle(r, T0), T0, 'hash-t1'), result: null }));
      await store.work.update('work_t3', (r) => ({ row: stop(r, T0, true), result: null }));
      expect(await store.work.waitingTotal(T0)).toBe(base + 1);
      expect((await store.work.queueStats('env_t1', T0)).waiting + (await store.work.queueStats('env_t2', T0)).waiting).toBe(1);
    });

    it('counts waiting and handed-out items and remembers pollers', async () => {
      await store.work.insert(fresh('work_s1', 'env_s'));
      await store.work.insert(fresh('work_s2', 'env_s'));
      await store.work.update('work_s1', (r) => ({ row: handOut(settle(r, T0), T0, 'hash-s1'), result: null }));
      expect(await store.work.queueStats('env_s', T0)).toEqual({ waiting: 1, handedOut: 1, oldestCreatedAt: new Date(T0).toISOString() });
      expect((await store.work.dueTimes('env_s')).oldestHandOut).toBe(T0);
      expect(await store.work.pollers('env_s', T0)).toBeNull();
      await store.work.notePoller('env_s', 'w1', T0, T0 - 1000);
      await store.work.notePoller('env_s', 'w2', T0 + 10, T0 - 1000);
      expect(await store.work.pollers('env_s', T0 + 5)).toBe(1);
      await store.work.notePoller('env_s', 'w2', T0 + 5000, T0 + 1000);
      expect(await store.work.pollers('env_s', 0)).toBe(1);
      const page = await store.work.list('env_s', { limit: 1, order: 'asc' });
      expect(page.data.map((r) => r.work.id)).toEqual(['work_s1']);
      expect((await store.work.list('env_s', { limit: 1, order: 'asc', after: page.next! })).data.map((r) => r.work.id)).toEqual(['work_s2']);
    });
  });
}

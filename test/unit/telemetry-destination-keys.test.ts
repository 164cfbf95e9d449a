// Telemetry destination headers and master-key rotation (issue 11): headers sealed under a retired
// key are re-sealed under the current one at start, and a destination whose headers no configured
// key opens is left out of routing (never exported without its headers) while the others still route.
import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { SqliteStore } from '../../src/adapters/store-sqlite/sqlite-store.ts';
import { AesGcmSecretBox } from '../../src/adapters/secret-box/aes-gcm-secret-box.ts';
import { TelemetryDestinationService } from '../../src/harness/telemetry-destination-service.ts';
import { systemClock } from '../../src/ports/clock.ts';

const service = (store: SqliteStore, box: AesGcmSecretBox) => new TelemetryDestinationService({ store, box, clock: systemClock, captureContent: false });

describe('telemetry destination headers under master-key rotation', () => {
  it('re-seals headers under the current key and still routes with them', async () => {
    const store = new SqliteStore(':memory:');
    const oldKey = randomBytes(32);
    const newKey = randomBytes(32);
    const d = await service(store, new AesGcmSecretBox([oldKey])).create({ endpoint_url: 'https://otel.example.com', headers: { authorization: 'Bearer t0k3n-value' }, workspaces: { type: 'all' } });
    const rotated = new AesGcmSecretBox([newKey, oldKey]);
    const svc = service(store, rotated);
    await svc.start(60_000);
    svc.stop();
    const row = (await store.telemetryDestinations.get(d.id))!;
    expect(row.sealedKeyId).toBe(rotated.currentKeyId);
    // The new key alone opens them now.
    const only = service(store, new AesGcmSecretBox([newKey]));
    await only.refresh();
    expect(only.destinationsFor('wrkspc_default').map((r) => r.headers)).toEqual([{ authorization: 'Bearer t0k3n-value' }]);
    await store.close();
  });

  it('leaves out a destination whose headers no configured key opens, and keeps routing the others', async () => {
    const store = new SqliteStore(':memory:');
    const lost = await service(store, new AesGcmSecretBox([randomBytes(32)])).create({ endpoint_url: 'https://a.example.com', headers: { authorization: 'x' }, workspaces: { type: 'all' } });
    const key = randomBytes(32);
    const ok = await service(store, new AesGcmSecretBox([key])).create({ endpoint_url: 'https://b.example.com', workspaces: { type: 'all' } });
    const svc = service(store, new AesGcmSecretBox([key]));
    await svc.refresh();
    expect(svc.destinationsFor('wrkspc_default').map((r) => r.id)).toEqual([ok.id]);
    expect((await svc.get(lost.id)).delivery_health.last_error).toContain('master key');
    await store.close();
  });
});

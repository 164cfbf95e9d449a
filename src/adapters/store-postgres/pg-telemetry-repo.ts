// PostgreSQL repo of telemetry destinations (same table and semantics as the SQLite adapter's).
import type { Page, PageQuery, TelemetryDestinationRepo, TelemetryDestinationRow } from '../../ports/store.ts';
import type { PgDb } from './pg-db.ts';
import { keyset, pageOf } from '../store-sqlite/sqlite-paging.ts';
import { toDestinationRow } from '../store-sqlite/sqlite-telemetry-repo.ts';

export class PgTelemetryDestinationRepo implements TelemetryDestinationRepo {
  private readonly s: PgDb;

  constructor(s: PgDb) {
    this.s = s;
  }

  async insert(row: TelemetryDestinationRow) {
    await this.s.run('INSERT INTO telemetry_destinations (id, revision, sealed, sealed_key_id, data) VALUES (?, ?, ?, ?, ?)',
      row.destination.id, row.revision, row.sealed, row.sealedKeyId, JSON.stringify(row.destination));
  }

  async get(id: string) {
    const r = await this.s.get('SELECT * FROM telemetry_destinations WHERE id = ?', id);
    return r ? toDestinationRow(r) : undefined;
  }

  async update(row: TelemetryDestinationRow) {
    return (await this.s.run('UPDATE telemetry_destinations SET revision = revision + 1, sealed = ?, sealed_key_id = ?, data = ? WHERE id = ? AND revision = ?',
      row.sealed, row.sealedKeyId, JSON.stringify(row.destination), row.destination.id, row.revision)) > 0;
  }

  async delete(id: string) {
    return (await this.s.run('DELETE FROM telemetry_destinations WHERE id = ?', id)) > 0;
  }

  async list(q: PageQuery): Promise<Page<TelemetryDestinationRow>> {
    const k = keyset(q);
    const rows = await this.s.all(`SELECT * FROM telemetry_destinations WHERE 1=1${k.where}${k.orderBy}`, ...k.params, q.limit + 1);
    return pageOf(rows, q, toDestinationRow);
  }

  async all() {
    return (await this.s.all('SELECT * FROM telemetry_destinations ORDER BY seq')).map(toDestinationRow);
  }
}

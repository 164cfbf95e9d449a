// SQLite repo of telemetry destinations: the wire object in `data` (no header values), the headers
// sealed in `sealed`, and a revision for compare-and-swap updates.
import type { Page, PageQuery, TelemetryDestinationRepo, TelemetryDestinationRow } from '../../ports/store.ts';
import type { SqliteAccess } from './sqlite-work-repo.ts';
import { keyset, pageOf } from './sqlite-paging.ts';

type Row = Record<string, unknown>;

export const toDestinationRow = (r: Row): TelemetryDestinationRow => ({
  destination: JSON.parse(String(r.data)), sealed: (r.sealed as string | null) ?? null,
  sealedKeyId: (r.sealed_key_id as string | null) ?? null, revision: Number(r.revision),
});

export class SqliteTelemetryDestinationRepo implements TelemetryDestinationRepo {
  private readonly s: SqliteAccess;

  constructor(s: SqliteAccess) {
    this.s = s;
  }

  async insert(row: TelemetryDestinationRow) {
    this.s.run('INSERT INTO telemetry_destinations (id, revision, sealed, sealed_key_id, data) VALUES (?, ?, ?, ?, ?)',
      row.destination.id, row.revision, row.sealed, row.sealedKeyId, JSON.stringify(row.destination));
  }

  async get(id: string) {
    const r = this.s.get('SELECT * FROM telemetry_destinations WHERE id = ?', id);
    return r ? toDestinationRow(r) : undefined;
  }

  async update(row: TelemetryDestinationRow) {
    return this.s.run('UPDATE telemetry_destinations SET revision = revision + 1, sealed = ?, sealed_key_id = ?, data = ? WHERE id = ? AND revision = ?',
      row.sealed, row.sealedKeyId, JSON.stringify(row.destination), row.destination.id, row.revision) > 0;
  }

  async delete(id: string) {
    return this.s.run('DELETE FROM telemetry_destinations WHERE id = ?', id) > 0;
  }

  async list(q: PageQuery): Promise<Page<TelemetryDestinationRow>> {
    const k = keyset(q);
    const rows = this.s.all(`SELECT * FROM telemetry_destinations WHERE 1=1${k.where}${k.orderBy}`, ...k.params, q.limit + 1);
    return pageOf(rows, q, toDestinationRow);
  }

  async all() {
    return this.s.all('SELECT * FROM telemetry_destinations ORDER BY seq').map(toDestinationRow);
  }
}

// The warm pool: sandboxes provisioned ahead of time, per sandbox shape (an environment's network
// policy and package layer), so a session's first tool call costs what a warm call costs. A pooled
// sandbox has run no agent code: its workspace and outputs are fresh, empty directories, and it is
// handed to exactly one session (`Sandbox.adopt` renames those directories to the session's), never
// shared. Refilled in the background after each take and when a session is created; a shape not
// asked for in `idleMs` is drained; at most `maxShapes` shapes are kept (least recently used go).
import { randomUUID } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Sandbox, SandboxLimits, SandboxNetwork, SandboxPackageLayer, SandboxProvider } from '../ports/sandbox.ts';

export interface PoolShape {
  network: SandboxNetwork;
  packageLayer?: SandboxPackageLayer;
}

export interface SandboxPoolOptions {
  provider: SandboxProvider;
  /** Warm sandboxes kept per shape. */
  size: number;
  /** Where pooled sandboxes' directories live until adopted (`<dir>/<id>/{workspace,outputs}`). */
  dir: string;
  limits: SandboxLimits;
  idleMs: number;
  maxShapes?: number;
  logger: { warn(obj: object, msg: string): void };
}

interface ShapeEntry {
  shape: PoolShape;
  ready: Array<{ sandbox: Sandbox; root: string }>;
  filling: number;
  lastWanted: number;
}

export const shapeKey = (shape: PoolShape) => JSON.stringify([shape.network, shape.packageLayer?.hostPath ?? null]);

export class SandboxPool {
  private readonly o: SandboxPoolOptions;
  private readonly shapes = new Map<string, ShapeEntry>();
  private readonly closing = new AbortController();

  constructor(opts: SandboxPoolOptions) {
    this.o = opts;
  }

  /**
   * A warm sandbox of this shape (removed from the pool), or undefined. The caller refills with
   * `fill` once the taking call is done, so new sandboxes' process starts do not compete with it.
   */
  take(shape: PoolShape): { sandbox: Sandbox; root: string } | undefined {
    const entry = this.entry(shape);
    let got: { sandbox: Sandbox; root: string } | undefined;
    while (!got && entry.ready.length) {
      const next = entry.ready.shift()!;
      if (next.sandbox.alive && next.sandbox.adopt) got = next;
      else void this.discard(next);
    }
    if (!got) this.fill(shape);
    return got;
  }

  /** Starts provisioning until the shape has `size` sandboxes ready or on the way. */
  fill(shape: PoolShape): void {
    if (this.closing.signal.aborted || this.o.size <= 0 || this.o.provider.unavailableReason()) return;
    const entry = this.entry(shape);
    while (entry.ready.length + entry.filling < this.o.size) {
      entry.filling++;
      void this.provisionOne(entry).finally(() => {
        entry.filling--;
      });
    }
  }

  /** How many sandboxes are ready, per shape key (tests, metrics). */
  readyCount(shape?: PoolShape): number {
    if (shape) return this.shapes.get(shapeKey(shape))?.ready.length ?? 0;
    let n = 0;
    for (const e of this.shapes.values()) n += e.ready.length;
    return n;
  }

  /** Drains shapes nobody asked for since `idleMs` ago. */
  async drainIdle(nowMs = Date.now()): Promise<void> {
    for (const [key, entry] of this.shapes) {
      if (entry.lastWanted >= nowMs - this.o.idleMs) continue;
      this.shapes.delete(key);
      await Promise.all(entry.ready.splice(0).map((r) => this.discard(r)));
    }
  }

  async close(): Promise<void> {
    this.closing.abort(new Error('the server is stopping'));
    const all = [...this.shapes.values()].flatMap((e) => e.ready.splice(0));
    this.shapes.clear();
    await Promise.all(all.map((r) => this.discard(r)));
  }

  private entry(shape: PoolShape): ShapeEntry {
    const key = shapeKey(shape);
    let entry = this.shapes.get(key);
    if (!entry) {
      entry = { shape, ready: [], filling: 0, lastWanted: Date.now() };
      this.shapes.set(key, entry);
      const max = this.o.maxShapes ?? 4;
      if (this.shapes.size > max) {
        const oldest = [...this.shapes.entries()].filter(([k]) => k !== key).sort((a, b) => a[1].lastWanted - b[1].lastWanted)[0];
        if (oldest) {
          this.shapes.delete(oldest[0]);
          for (const r of oldest[1].ready.splice(0)) void this.discard(r);
        }
      }
    }
    entry.lastWanted = Date.now();
    return entry;
  }

  private async provisionOne(entry: ShapeEntry): Promise<void> {
    const id = `pool-${randomUUID().replace(/-/g, '').slice(0, 16)}`;
    const root = join(this.o.dir, id);
    try {
      await mkdir(this.o.dir, { recursive: true, mode: 0o700 });
      await mkdir(join(root, 'workspace'), { recursive: true, mode: 0o700 });
      await mkdir(join(root, 'outputs'), { recursive: true, mode: 0o700 });
      const sandbox = await this.o.provider.provision({
        sessionId: id, workspaceDir: join(root, 'workspace'), outputsDir: join(root, 'outputs'), mounts: [],
        network: entry.shape.network, limits: this.o.limits, ...(entry.shape.packageLayer ? { packageLayer: entry.shape.packageLayer } : {}),
      }, this.closing.signal);
      const live = this.shapes.get(shapeKey(entry.shape)) === entry && !this.closing.signal.aborted;
      if (!live || !sandbox.adopt) {
        await this.discard({ sandbox, root });
        return;
      }
      entry.ready.push({ sandbox, root });
    } catch (err) {
      if (!this.closing.signal.aborted) this.o.logger.warn({ err: String(err) }, 'warm sandbox provisioning failed');
      await rm(root, { recursive: true, force: true }).catch(() => {});
    }
  }

  private async discard(r: { sandbox: Sandbox; root: string }): Promise<void> {
    await r.sandbox.release().catch(() => {});
    await rm(r.root, { recursive: true, force: true }).catch(() => {});
  }
}

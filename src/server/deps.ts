// What the HTTP layer needs, handed over by the composition root.
import type { Store } from '../ports/store.ts';
import type { Clock } from '../ports/clock.ts';
import type { EventBus } from '../ports/event-bus.ts';
import type { SessionService } from '../harness/session-service.ts';
import type { SessionFeed } from '../harness/session-feed.ts';
import type { FileService } from '../harness/file-service.ts';
import type { WorkQueue } from '../harness/work-queue.ts';
import type { VaultService } from '../harness/vault-service.ts';
import type { SpendService } from '../harness/spend-service.ts';
import type { TelemetryDestinationService } from '../harness/telemetry-destination-service.ts';
import type { Readiness } from './readiness.ts';
import type { ModelCatalog } from '../domain/model-routing.ts';
import type { Metrics } from '../ports/metrics.ts';
import type { Tracer } from '../ports/tracer.ts';
import type { RepositoryService } from '../harness/repository-service.ts';
import type { EnvironmentPackages } from '../harness/environment-packages.ts';


export interface AppDeps {
  store: Store;
  clock: Clock;
  bus: EventBus;
  /** What SSE streams read: the session log by seq (any node's commits) plus local previews. */
  feed: SessionFeed;
  sessions: SessionService;
  files: FileService;
  /** Self-hosted work queue, environment keys and credential resolution. */
  work: WorkQueue;
  vaults: VaultService;
  /** Spend limits and their effective report (issue 11). */
  spend: SpendService;
  /** Telemetry destinations (issue 11). */
  telemetryDestinations: TelemetryDestinationService;
  /** Interval between SSE keep-alive `ping` frames. */
  pingIntervalMs: number;
  /** `GET /readyz`'s checks (none = always ready). */
  readiness?: Readiness;
  /** Configured models: `GET /v1/models` and the unknown-model 400 (none = any id accepted). */
  models?: ModelCatalog;
  /** `GET /metrics` and the SSE connection gauge (none = an empty exposition). */
  metrics?: Metrics;
  /** HANGAR_METRICS_KEY: reads `GET /metrics` only. */
  metricsKey?: string;
  /** HTTP server spans (none = not traced). */
  tracer?: Tracer;
  /** `github_repository` resources: token sealing and rotation (none = refused with 400). */
  repositories?: RepositoryService;
  /** Environment package layers: installability checks, builds, and `build` on environment objects. */
  packages?: EnvironmentPackages;

}

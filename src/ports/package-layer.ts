// The package-layer builder port: installs an environment's `config.packages` into an empty layer
// directory, once per distinct package list. The layer is later bound read-only into every sandbox
// of environments with that list (see docs/notes/envpkg.md).
/** The package managers an environment's `config.packages` names (domain/environments.ts validates them). */
export type PackageManager = 'apt' | 'cargo' | 'gem' | 'go' | 'npm' | 'pip';

export interface LayerBuildRequest {
  /** The layer key (content hash of the package list); names the build for logs and cgroups. */
  key: string;
  /** Canonical lists; managers run in the order apt, cargo, gem, go, npm, pip. */
  packages: Record<PackageManager, string[]>;
  /** Empty host directory the packages are installed into. */
  layerDir: string;
  /** Empty scratch host directory (caches, downloads); the builder appends its log to `<workDir>/build.log`. */
  workDir: string;
}

/** A package could not be installed (unknown name, a tool missing, a registry error): a build failure, not a crash. */
export class LayerBuildError extends Error {
  readonly code = 'package_build_failed';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

export interface PackageLayerBuilder {
  /** Why no layer can be built here (e.g. no bubblewrap), or undefined. */
  unavailableReason(): string | undefined;
  /**
   * Why `manager`'s packages can never be installed by this server (its tool is not installed
   * where sandboxes see it), or undefined when they can be tried. Environments naming such a
   * manager are refused with 400 rather than accepted and failed later.
   */
  managerProblem(manager: PackageManager): string | undefined;
  /**
   * Installs every package into `layerDir`. Rejects with `LayerBuildError` (whose message is the
   * reason to show users, e.g. the manager's own "not found" line) when a package cannot be
   * installed, and with the abort reason when `signal` fires. On rejection the directories may hold
   * partial output; the caller discards them.
   */
  build(req: LayerBuildRequest, signal: AbortSignal): Promise<void>;
}

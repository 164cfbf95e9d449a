// The install step of each package manager, as a bash script run inside the build sandbox with
// the specs as its arguments. Each installs under its own directory of the layer (bound writable at
// PACKAGE_LAYER_DIR only in the build sandbox) so session sandboxes find it through the search
// paths of `packageLayerEnv`. Every script checks its tool first and fails with one clear line when
// the tool is not available to sandboxes, and never lets a spec be read as an option (specs are
// validated at the API, and passed after `--` where the tool allows it).
import type { PackageManager } from '../../domain/environments.ts';
import { PACKAGE_LAYER_DIR } from '../sandbox-bwrap/bwrap-args.ts';

/** Per-manager registries (the defaults are the tools' own). */
export interface PackageRegistries {
  /** pip's `--index-url` (a PEP 503 simple index). */
  pipIndexUrl?: string;
  /** npm's registry. */
  npmRegistry?: string;
  /** cargo's `--index` (e.g. `sparse+https://…/`). */
  cargoIndexUrl?: string;
  /** gem's only `--source`. */
  gemSource?: string;
  /** GOPROXY. */
  goProxy?: string;
}

/** Where the build sandbox's scratch state lives (its /workspace). */
export const BUILD_HOME = '/workspace';
export const BUILD_LOG = `${BUILD_HOME}/build.log`;

const L = PACKAGE_LAYER_DIR;

const PRELUDE = [
  'set -uo pipefail',
  `exec >>${BUILD_LOG} 2>&1`,
  // One line on stderr of the script's own, read by the host as the failure reason.
  `fail() { echo "hangar-build-error: $*"; exit 3; }`,
  // The system trust store (Debian's, with any CA the operator added) rather than each tool's own bundle.
  'ca=/etc/ssl/certs/ca-certificates.crt; [ -r "$ca" ] && export NODE_EXTRA_CA_CERTS="$ca" npm_config_cafile="$ca" PIP_CERT="$ca" SSL_CERT_FILE="$ca" CARGO_HTTP_CAINFO="$ca"',
  'need() { command -v "$1" >/dev/null 2>&1 || fail "$1 is not installed on this server (not visible to sandboxes under /usr), so $2 packages cannot be installed; install it system-wide, e.g. apt-get install $3"; }',
].join('\n');

const SCRIPTS: Record<PackageManager, string> = {
  // Unprivileged apt: a private apt state (copied host sources and dpkg status, see prepareAptState)
  // resolves what the host lacks, `apt-get download` fetches exactly those versions, and `dpkg-deb -x`
  // unpacks them into the layer. No maintainer scripts run and nothing touches the host's dpkg.
  apt: [
    'need apt-get apt apt', 'need dpkg-deb apt dpkg',
    `export APT_CONFIG=${BUILD_HOME}/apt/apt.conf`,
    'echo "== apt-get update"',
    'apt-get -q update || fail "apt-get update failed (see the log)"',
    'echo "== apt-get install --simulate $*"',
    'sim=$(apt-get -s -q --no-install-recommends install -- "$@" 2>&1); rc=$?',
    'printf "%s\\n" "$sim"',
    '[ $rc -eq 0 ] || fail "apt: $(printf "%s\\n" "$sim" | grep -E "^E:" | head -3 | tr "\\n" " ")"',
    `want=$(printf '%s\\n' "$sim" | sed -n 's/^Inst \\([^ ]*\\) \\(\\[[^]]*\\] \\)\\?(\\([^ ]*\\) .*/\\1=\\3/p')`,
    '[ -n "$want" ] || { echo "apt: everything is already installed on the host"; exit 0; }',
    `mkdir -p ${BUILD_HOME}/apt/debs && cd ${BUILD_HOME}/apt/debs || fail "cannot create the download directory"`,
    'echo "== apt-get download" $want',
    'apt-get -q download $want || fail "apt-get download failed (see the log)"',
    `for deb in ./*.deb; do dpkg-deb -x "$deb" ${L}/apt || fail "dpkg-deb -x $deb failed"; echo "unpacked $deb"; done`,
  ].join('\n'),
  cargo: [
    'need cargo cargo cargo',
    `export CARGO_HOME=${BUILD_HOME}/cargo-home`,
    'cargo install --root ' + `${L}/cargo` + ' ${HANGAR_CARGO_INDEX:+--index "$HANGAR_CARGO_INDEX"} -- "$@" || fail "cargo install failed: $(tail -n 3 ' + BUILD_LOG + ' | tr "\\n" " ")"',
  ].join('\n'),
  gem: [
    'need gem gem ruby',
    'for spec in "$@"; do',
    '  name=${spec%%:*}; ver=; [ "$name" != "$spec" ] && ver=${spec#*:}',
    `  gem install --no-document --install-dir ${L}/gem --bindir ${L}/gem/bin \${HANGAR_GEM_SOURCE:+--clear-sources --source "$HANGAR_GEM_SOURCE"} \${ver:+--version "$ver"} "$name" || fail "gem install $spec failed: $(tail -n 3 ${BUILD_LOG} | tr "\\n" " ")"`,
    'done',
  ].join('\n'),
  go: [
    'need go go golang-go',
    `export GOPATH=${BUILD_HOME}/go GOCACHE=${BUILD_HOME}/go-cache GOBIN=${L}/go/bin GOFLAGS=-modcacherw`,
    '[ -n "${HANGAR_GOPROXY:-}" ] && export GOPROXY="$HANGAR_GOPROXY"',
    'for spec in "$@"; do',
    '  case "$spec" in *@*) ;; *) spec="$spec@latest" ;; esac',
    '  go install "$spec" || fail "go install $spec failed: $(tail -n 3 ' + BUILD_LOG + ' | tr "\\n" " ")"',
    'done',
  ].join('\n'),
  npm: [
    'need npm npm npm',
    `export npm_config_cache=${BUILD_HOME}/npm-cache npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false npm_config_loglevel=warn npm_config_fetch_retries=1`,
    // npm reads its proxy from its own config, not from HTTP(S)_PROXY.
    'export npm_config_proxy="${HTTP_PROXY:-}" npm_config_https_proxy="${HTTPS_PROXY:-}"',
    '[ -n "${HANGAR_NPM_REGISTRY:-}" ] && export npm_config_registry="$HANGAR_NPM_REGISTRY"',
    `npm install --global --prefix ${L}/npm -- "$@" || fail "npm install failed: $(grep -E "npm (ERR!|error) (404|code|notarget|[0-9]{3} )" ${BUILD_LOG} | head -n 3 | tr "\\n" " ")"`,
  ].join('\n'),
  pip: [
    'need python3 pip python3',
    'python3 -m pip --version >/dev/null 2>&1 || fail "pip is not installed on this server (python3 -m pip fails in sandboxes), so pip packages cannot be installed; install it system-wide, e.g. apt-get install python3-pip"',
    'export PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1',
    `python3 -m pip install --target ${L}/pip \${HANGAR_PIP_INDEX_URL:+--index-url "$HANGAR_PIP_INDEX_URL"} -- "$@" || fail "pip install failed: $(grep -E "^ERROR" ${BUILD_LOG} | head -n 3 | tr "\\n" " ")"`,
  ].join('\n'),
};

/** The bash script that installs `manager`'s packages (given as its arguments). */
export function installScript(manager: PackageManager): string {
  return `${PRELUDE}\necho "=== ${manager}: $*"\n${SCRIPTS[manager]}\n`;
}

/** The registry variables the scripts read, as `NAME=value` pairs for `env`. */
export function registryEnv(registries: PackageRegistries): string[] {
  const pairs: Array<[string, string | undefined]> = [
    ['HANGAR_PIP_INDEX_URL', registries.pipIndexUrl],
    ['HANGAR_NPM_REGISTRY', registries.npmRegistry],
    ['HANGAR_CARGO_INDEX', registries.cargoIndexUrl],
    ['HANGAR_GEM_SOURCE', registries.gemSource],
    ['HANGAR_GOPROXY', registries.goProxy],
  ];
  return pairs.filter((p): p is [string, string] => !!p[1]).map(([k, v]) => `${k}=${v}`);
}

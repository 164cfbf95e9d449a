// The egress port: a filtering forward proxy outside the sandbox, reachable from inside only
// through a unix socket. It refuses loopback, private, link-local and metadata addresses (after DNS
// resolution) and, when `allowedHosts` is set, every host not on the list.

export interface EgressPolicy {
  /** Null: any public host. Otherwise exact hosts or `*.suffix` wildcards. */
  allowedHosts: string[] | null;
}

export interface EgressProxyHandle {
  socketPath: string;
  close(): Promise<void>;
}

export type StartEgressProxy = (policy: EgressPolicy, socketPath: string) => Promise<EgressProxyHandle>;

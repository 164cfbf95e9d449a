// Opens the upstream TCP connection to an already-vetted address. Addresses are tried in resolver
// order; each attempt gets its own timeout. Only IP literals reach net.connect, so no lookup happens.
import { connect, type Socket } from 'node:net';
import type { ResolvedAddress } from './egress-gate.ts';

export class UpstreamConnectError extends Error {
  readonly timedOut: boolean;

  constructor(message: string, timedOut: boolean, cause?: unknown) {
    super(message, { cause });
    this.name = new.target.name;
    this.timedOut = timedOut;
  }
}

export async function connectUpstream(addresses: ResolvedAddress[], port: number, timeoutMs: number): Promise<{ socket: Socket; address: string }> {
  let last: UpstreamConnectError | undefined;
  for (const { address, family } of addresses) {
    try {
      return { socket: await connectOne(address, family, port, timeoutMs), address };
    } catch (err) {
      last = err as UpstreamConnectError;
    }
  }
  throw last ?? new UpstreamConnectError('no addresses to connect to', false);
}

function connectOne(address: string, family: 4 | 6, port: number, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: address, family, port, noDelay: true });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new UpstreamConnectError(`connect to ${address}:${port} timed out`, true));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve(socket);
    });
    // Stays attached after connecting (a no-op then) until the caller adds its own handler.
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      socket.destroy();
      reject(new UpstreamConnectError(`connect to ${address}:${port} failed (${err.code ?? err.message})`, false, err));
    });
  });
}

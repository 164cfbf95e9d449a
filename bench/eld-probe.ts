// Preloaded into a bench's Hangar child process (`node --import bench/eld-probe.ts …`, with an IPC
// channel): measures that server's own event-loop delay and reports it on request, so the figure
// is the server's, not the load generator's. Not part of Hangar; only the throughput bench loads it.
import { monitorEventLoopDelay } from 'node:perf_hooks';

// Samples every 10 ms; what is reported is the delay beyond that interval (idle ≈ 0).
const RESOLUTION_MS = 10;
const h = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
h.enable();
process.on('message', (msg: unknown) => {
  if (msg === 'eld-reset') h.reset();
  if (msg === 'eld-read') {
    const over = (ns: number) => Math.max(0, ns / 1e6 - RESOLUTION_MS);
    process.send?.({ p50: over(h.percentile(50)), p99: over(h.percentile(99)), max: over(h.max) });
  }
});
// The channel must not keep the server alive after SIGTERM closes its listener.
process.channel?.unref();

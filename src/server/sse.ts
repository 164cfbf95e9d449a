// The one place SSE frames are written (docs/API-SPEC.md §7): named frames with one-line JSON data,
// `ping` keep-alives, headers flushed at once, and a client disconnect ending only the subscription.
import type { ServerResponse } from 'node:http';

export function sseFrame(name: string, data: unknown): string {
  if (/[\r\n]/.test(name)) throw new Error('SSE event names cannot contain CR or LF');
  // JSON.stringify never emits raw newlines, so the data stays on one line.
  return `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
}

export interface SseWriter {
  send(name: string, data: unknown): void;
  close(): void;
  readonly closed: boolean;
}

/** Opens an SSE response on the raw socket; `onClose` runs once, however the stream ends. */
export function openSse(res: ServerResponse, opts: { pingIntervalMs: number; requestId: string; onClose: () => void }): SseWriter {
  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
    'request-id': opts.requestId,
  });
  res.flushHeaders();
  let closed = false;
  const ping = setInterval(() => writer.send('ping', { type: 'ping' }), opts.pingIntervalMs);
  const finish = () => {
    if (closed) return;
    closed = true;
    clearInterval(ping);
    opts.onClose();
  };
  res.on('close', finish);
  const writer: SseWriter = {
    send(name, data) {
      if (!closed) res.write(sseFrame(name, data));
    },
    close() {
      if (closed) return;
      finish();
      res.end();
    },
    get closed() {
      return closed;
    },
  };
  return writer;
}

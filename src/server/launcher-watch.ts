// Stops a process started through npm when its launcher is gone. npm passes a SIGTERM/SIGINT it
// receives only to the shell it runs the command in (`sh -c …`), never to that shell's children:
// `npm start` and `npm run hangar` `exec` node so node is that child, but `npx hangar serve` cannot,
// and its shell dies of the SIGTERM while node, reparented, would keep running and listening. A
// changed parent PID is the sign that the launcher is gone.
export interface LauncherWatch {
  stop(): void;
}

/**
 * Calls `onGone` once when this process's parent changes (the parent exited and we were
 * reparented). The timer is unref'd: it never keeps the process alive on its own.
 */
export function watchLauncher(onGone: () => void, intervalMs = 500): LauncherWatch {
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    onGone();
  }, intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

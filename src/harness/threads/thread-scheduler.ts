// Drives a team session's threads concurrently under the one session lease: each thread runs its
// own plan-act loop (the single-agent step, confined to the thread), and whenever a thread acts
// or input arrives, the others are planned again. Ends when no thread has anything to do.
import type { StepAction } from '../planner.ts';

export const INTERRUPT = 'interrupt';

export interface ThreadLoopHost {
  /**
   * Plans and performs one step of one thread. `queued`: a step that took no action still appended
   * input some thread has to take (a child's final idle carries its report to the parent), so the
   * others look again.
   */
  step(sessionId: string, threadId: string, signal: AbortSignal): Promise<StepAction & { queued?: boolean }>;
  /** The threads that may have work: the primary and every child not archived. */
  threadIds(sessionId: string): Promise<string[]>;
}

/** The session loop's handles the harness uses to poke and interrupt threads. */
export interface ThreadLoopControl {
  /** Aborted on shutdown (or a lost lease): every thread stops without writing. */
  shutdown: AbortSignal;
  onPoke?: () => void;
  /** Per-thread controllers, for targeted and global interrupts. */
  threadAborts?: Map<string, AbortController>;
}

export async function runThreadLoops(host: ThreadLoopHost, sessionId: string, control: ThreadLoopControl): Promise<void> {
  const running = new Map<string, Promise<void>>();
  const aborts = new Map<string, AbortController>();
  control.threadAborts = aborts;
  let epoch = 0;
  let dirty = true;
  let wakeup: () => void = () => {};
  const signal = () => {
    epoch++;
    dirty = true;
    wakeup();
  };
  control.onPoke = signal;

  const runOne = async (threadId: string): Promise<void> => {
    let ctrl = new AbortController();
    aborts.set(threadId, ctrl);
    try {
      for (;;) {
        if (control.shutdown.aborted) return;
        if (ctrl.signal.aborted) {
          ctrl = new AbortController();
          aborts.set(threadId, ctrl);
        }
        const seen = epoch;
        const onShutdown = () => ctrl.abort(control.shutdown.reason);
        control.shutdown.addEventListener('abort', onShutdown);
        let action: StepAction & { queued?: boolean };
        try {
          action = await host.step(sessionId, threadId, ctrl.signal);
        } finally {
          control.shutdown.removeEventListener('abort', onShutdown);
        }
        // A commit without an action can still give another thread work: a child going idle with
        // `end_turn` is planned as `none`, and its report to the parent is appended in that commit.
        // Without the signal a parent that had already gone quiet is never planned again while
        // another thread keeps the loop alive. (Input is taken once, so this cannot livelock.)
        if (action.type !== 'none' || action.queued) signal();
        else if (epoch === seen) return; // nothing to do, and nothing happened meanwhile
      }
    } finally {
      aborts.delete(threadId);
      running.delete(threadId);
      wakeup();
    }
  };

  try {
    for (;;) {
      if (control.shutdown.aborted) break;
      if (dirty) {
        dirty = false;
        for (const id of await host.threadIds(sessionId)) if (!running.has(id)) running.set(id, runOne(id));
      }
      if (running.size === 0) {
        if (dirty) continue;
        break;
      }
      await new Promise<void>((resolve) => {
        wakeup = resolve;
        if (dirty || running.size === 0) resolve();
      });
    }
  } finally {
    await Promise.allSettled([...running.values()]);
    control.onPoke = undefined;
    control.threadAborts = undefined;
  }
}

// runThreadLoops: a thread's step that takes no action but writes (a child's final idle carrying its
// report to the parent) makes the other threads look again, even when the parent already went quiet
// and another thread keeps the loop alive (the PostgreSQL multiagent hang, docs/notes/threads.md).
import { describe, expect, it } from 'vitest';
import { runThreadLoops } from '../../src/harness/threads/thread-scheduler.ts';
import type { StepAction } from '../../src/harness/planner.ts';

const settle = async () => { for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r)); };

function scenario(childWrites: boolean) {
  const shutdown = new AbortController();
  let reported = false;
  const primarySteps: string[] = [];
  let primaryQuiet!: () => void;
  const primaryWentQuiet = new Promise<void>((r) => { primaryQuiet = r; });
  let childStepped = false;
  const host = {
    threadIds: async () => ['primary', 'child', 'busy'],
    async step(_s: string, threadId: string, signal: AbortSignal): Promise<StepAction & { queued?: boolean }> {
      if (threadId === 'primary') {
        // Takes the report once it is there (one model step), else has nothing to do.
        const act = reported && !primarySteps.includes('model');
        primarySteps.push(act ? 'model' : 'none');
        if (!act) queueMicrotask(primaryQuiet);
        return act ? { type: 'model' } : { type: 'none' };
      }
      if (threadId === 'child') {
        if (childStepped) return { type: 'none' };
        childStepped = true;
        // Its final commit lands after the parent planned `none` and left its loop.
        await primaryWentQuiet;
        await settle();
        reported = true;
        return childWrites ? { type: 'none', queued: true } : { type: 'none' };
      }
      // A thread whose model call hangs: the loop stays alive until shutdown.
      await new Promise<void>((r) => signal.addEventListener('abort', () => r(), { once: true }));
      return { type: 'none' };
    },
  };
  const done = runThreadLoops(host, 'sesn_x', { shutdown: shutdown.signal });
  return { shutdown, done, primarySteps };
}

describe('runThreadLoops', () => {
  it('plans the parent again when a child writes its report in a step without an action', async () => {
    const { shutdown, done, primarySteps } = scenario(true);
    await settle(); await settle();
    expect(primarySteps).toContain('model');
    shutdown.abort('shutdown');
    await done;
  });

  it('leaves a quiet parent alone when a step neither acts nor queues input', async () => {
    const { shutdown, done, primarySteps } = scenario(false);
    await settle(); await settle();
    expect(primarySteps).toEqual(['none']);
    shutdown.abort('shutdown');
    await done;
  });
});

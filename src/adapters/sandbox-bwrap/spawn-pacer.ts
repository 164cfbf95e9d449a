// Paces process spawns: at most one per event-loop iteration. `spawn()` forks the server process
// synchronously, and a fork costs time in proportion to the server's memory (about 10 ms at
// 200 MB RSS here): a burst of first tool calls spawning back to back in one tick would stall every
// request for the sum of them. Waiting for a turn first lets the loop handle I/O between forks.
let last: Promise<void> = Promise.resolve();

/** Resolves when it is this caller's turn to spawn (one caller per event-loop iteration). */
export function spawnTurn(): Promise<void> {
  const turn = last.then(() => new Promise<void>((resolve) => setImmediate(resolve)));
  last = turn;
  return turn;
}

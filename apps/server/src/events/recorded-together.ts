// Attempts recorded together, on PostgreSQL: recording each attempt in a transaction of its own
// cost a commit (a WAL flush) and four round trips per delivery, which bound the drain (553
// deliveries/s with history and backlogs). Here the attempts that finish while a batch is being
// recorded wait for it, then go together in the next one: one transaction for all of them, one
// commit. Each caller's promise settles only once its batch has committed, or failed as a whole
// (nothing of it kept: each delivery's lease runs out and its attempt is made again, at least once
// as before). So does SQLite's group commit (database/group-commit.ts), which its store uses.

interface Queued<T> {
  item: T;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * A function that records `item` with the others queued beside it, by `recordBatch`, one batch at
 * a time and at most `maxBatch` in one. `key` names what an item changes: two items of the same key
 * never share a batch (the second, and those after it, wait for the next), so each is applied as if
 * alone, in the order called.
 */
export function recordedTogether<T>(
  recordBatch: (items: T[]) => Promise<void>,
  key: (item: T) => unknown,
  maxBatch: number,
): (item: T) => Promise<void> {
  const queued: Queued<T>[] = [];
  let recording = false;

  // The longest run of the queue, from its start, with no key twice and at most maxBatch long.
  const next = (): Queued<T>[] => {
    const keys = new Set<unknown>();
    let length = 0;
    while (length < queued.length && length < maxBatch && !keys.has(key(queued[length]!.item))) keys.add(key(queued[length++]!.item));
    return queued.splice(0, length);
  };

  const record = async (): Promise<void> => {
    const batch = next();
    try {
      await recordBatch(batch.map((entry) => entry.item));
      for (const entry of batch) entry.resolve();
    } catch (error) {
      for (const entry of batch) entry.reject(error);
    } finally {
      recording = false;
      startSoon();
    }
  };

  // Those queued in the same turn of the event loop go together (as the group commit's).
  function startSoon(): void {
    if (recording || queued.length === 0) return;
    recording = true;
    setImmediate(() => void record());
  }

  return (item) =>
    new Promise<void>((resolve, reject) => {
      queued.push({ item, resolve, reject });
      startSoon();
    });
}

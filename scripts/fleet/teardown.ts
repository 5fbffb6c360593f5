/** Steps that undo what a lab set up, run last-first; a failing step does not stop the others. */
export interface Teardown {
  /** Undo steps, in the order their set-up happened. */
  readonly cleanups: Array<() => Promise<void> | void>;
  /** Runs every step added so far, last first, and forgets them. */
  cleanUp(): Promise<void>;
}

export function teardown(): Teardown {
  const cleanups: Array<() => Promise<void> | void> = [];
  return {
    cleanups,
    cleanUp: async () => {
      for (const fn of cleanups.splice(0).reverse()) {
        try {
          await fn();
        } catch {
          // keep tearing down the rest
        }
      }
    },
  };
}

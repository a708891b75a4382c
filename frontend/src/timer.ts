/** Time as the editor and the project page use it, injectable so tests never wait for real. */
export interface Timer {
  sleep(ms: number): Promise<void>;
  /** Runs `fn` once after `ms`; returns a function that cancels it. Without it the editor has no idle autosave. */
  after?(ms: number, fn: () => void): () => void;
}

export const realTimer: Required<Timer> = {
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  after: (ms, fn) => {
    const id = setTimeout(fn, ms);
    return () => clearTimeout(id);
  },
};

/** Waits between tries that a stop cuts short: each ends after its time, or at once when `wakeAll` is called. */
export class Pauses {
  private readonly waiting = new Set<{ timer: NodeJS.Timeout; wake: () => void }>();

  wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const pause = {
        timer: setTimeout(() => {
          this.waiting.delete(pause);
          resolve();
        }, ms),
        wake: resolve,
      };
      pause.timer.unref();
      this.waiting.add(pause);
    });
  }

  /** Ends every wait now. */
  wakeAll(): void {
    for (const pause of this.waiting) {
      clearTimeout(pause.timer);
      pause.wake();
    }
    this.waiting.clear();
  }
}

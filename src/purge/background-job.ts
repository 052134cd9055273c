/**
 * Work the server does on its own schedule (compacting the purge history, filling the search index): run
 * every interval, never two runs at once, an error reported and the next run tried as usual. `stop` waits
 * for a run in progress.
 */
export class BackgroundJob<T> {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<T> | undefined;

  constructor(
    private readonly work: () => Promise<T>,
    private readonly options: { intervalMs: number; onDone?: (result: T) => void; onError?: (error: unknown) => void },
  ) {}

  /** Runs now if `immediately`, then every interval, until `stop`. */
  start(immediately: boolean): void {
    const tick = (): void => {
      this.run().then(
        (result) => this.options.onDone?.(result),
        (error: unknown) => this.options.onError?.(error),
      );
    };
    if (immediately) tick();
    this.timer = setInterval(tick, this.options.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running?.catch(() => undefined);
  }

  /** One run; joins the one in progress if there is one. */
  run(): Promise<T> {
    this.running ??= this.work().finally(() => (this.running = undefined));
    return this.running;
  }
}

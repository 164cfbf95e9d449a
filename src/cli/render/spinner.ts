// A one-line spinner for a running tool call, drawn only when stdout is a terminal. It owns the
// current line while it spins; `stop()` clears it so the next write starts on a clean line.
const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export class Spinner {
  private timer: NodeJS.Timeout | undefined;
  private frame = 0;
  private label = '';

  private readonly out: NodeJS.WriteStream;
  constructor(out: NodeJS.WriteStream) {
    this.out = out;
  }

  get spinning(): boolean {
    return this.timer !== undefined;
  }

  start(label: string): void {
    if (!this.out.isTTY) return;
    this.label = label;
    if (this.timer) return;
    this.draw();
    this.timer = setInterval(() => this.draw(), 80);
    this.timer.unref();
  }

  stop(): void {
    if (!this.timer) return;
    clearInterval(this.timer);
    this.timer = undefined;
    this.out.write('\r\x1b[2K');
  }

  private draw(): void {
    const width = Math.max(10, (this.out.columns ?? 80) - 4);
    const text = this.label.length > width ? `${this.label.slice(0, width - 1)}…` : this.label;
    this.out.write(`\r\x1b[2K${FRAMES[this.frame++ % FRAMES.length]} ${text}`);
  }
}

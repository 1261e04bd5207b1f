/**
 * Deadlines of requests in flight. Every request has the same timeout, so deadlines come in order:
 * one timer, armed for the oldest unsettled request, serves them all (no timer per call). Time and
 * the timer come from the runtime's clock.
 *
 * A deadline is judged only after the sockets were read. When a process is busy (a long synchronous
 * task, a GC pause, a starved CPU) past a deadline, its timer can fire before the answers that
 * arrived meanwhile are read; failing them would drop a healthy connection and feed the breaker.
 * So the timer only notes when it fired, and an immediate, which runs after the event loop's next
 * read of its sockets, fails the requests that were past their deadline then. A request sent since
 * (its answer may not have been read yet) waits for a timer of its own.
 */
import { setImmediate, clearImmediate } from "node:timers";
import type { Clock } from "../clock";

/** A request in flight. */
export interface Pending<N> {
  /** When it times out (ms, the clock's time). */
  readonly at: number;
  settled: boolean;
  /** Settles it with a failure (its deadline passed, or the backend closed). */
  fail: (error: Error) => void;
  /** The server it went to. */
  readonly node: N;
}

/** The queue of requests in flight, oldest first, and its one timer. */
export class Deadlines<N> {
  #queue: Array<Pending<N>> = [];
  #head = 0;
  /** Cancels the timer, while one is armed. */
  #timer: (() => void) | undefined;
  /** The immediate that judges the deadlines once the sockets were read, while one is queued. */
  #judging: NodeJS.Immediate | undefined;
  /** When the timer fired: the requests due by then are judged. */
  #firedAt = 0;

  /**
   * @param timeout milliseconds each request may take
   * @param onExpired called for each request whose deadline passed, after it was failed
   */
  constructor(private readonly timeout: number, private readonly clock: Clock,
              private readonly onExpired: (pending: Pending<N>) => void) {}

  /** A new request's entry (not yet queued). */
  entry(node: N, fail: (error: Error) => void): Pending<N> {
    return { at: this.clock.now() + this.timeout, settled: false, fail, node };
  }

  enqueue(pending: Pending<N>): void {
    this.#queue.push(pending);
    // While a judgement is queued, it re-arms the timer for the oldest request left.
    if (this.#judging === undefined) this.#timer ??= this.clock.after(this.timeout, this.#expire);
  }

  /** Drops settled requests from the head of the queue (with one request at a time, the queue stays empty). */
  dequeue(): void {
    const queue = this.#queue;
    while (this.#head < queue.length && (queue[this.#head] as Pending<N>).settled) this.#head++;
    if (this.#head === queue.length) {
      queue.length = 0;
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > queue.length) {
      this.#queue = queue.slice(this.#head);
      this.#head = 0;
    }
  }

  /** Fail every request still queued (the backend is closing) and stop the timer. */
  failAll(error: Error): void {
    const queue = this.#queue.slice(this.#head);
    this.#queue = [];
    this.#head = 0;
    this.#timer?.();
    this.#timer = undefined;
    if (this.#judging !== undefined) clearImmediate(this.#judging);
    this.#judging = undefined;
    for (const pending of queue) pending.fail(error);
  }

  /** The timer: notes when it fired; the deadlines are judged once the sockets were read (answers that arrived meanwhile settle first). */
  readonly #expire = (): void => {
    this.#timer = undefined;
    this.#firedAt = this.clock.now();
    this.#judging ??= setImmediate(this.#judge);
  };

  /** Fails every request that was past its deadline when the timer fired; re-arms the timer for the oldest one left. */
  readonly #judge = (): void => {
    this.#judging = undefined;
    for (;;) {
      this.dequeue();
      const oldest = this.#queue[this.#head];
      if (oldest === undefined) return;
      if (oldest.at > this.#firedAt) {
        // Unref'd (clock timers are): a request in flight keeps the process alive through its socket.
        this.#timer = this.clock.after(oldest.at - this.clock.now(), this.#expire);
        return;
      }
      this.onExpired(oldest);
    }
  };
}

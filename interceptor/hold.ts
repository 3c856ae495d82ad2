// Holding for one app: connections wait paused (nothing read, so a held connection costs a socket
// and one small record), are forwarded the moment a pod is ready, spread over the ready pods, and are
// answered early when the app cannot come up, when too many wait, or at the hold timeout.
import type { Socket } from 'node:net';
import { errors, lullError, type ErrorDef } from '../core/errors.ts';
import { formatDuration } from '../core/duration.ts';
import { forward, type Target } from './forward.ts';
import { admit, holdDeadline, overCap, type HoldCaps, type HoldSettings } from './limits.ts';
import { refusalOf, refuse, type Refusal } from './refuse.ts';
import type { Route } from './routes.ts';
import type { Peek } from './peek.ts';
import { lookAt, pageOrRefuse, type PageSource } from './waiting-room.ts';

/** What holding needs to know of the app; the Kubernetes side (app.ts) or a test provides it. */
export interface AppView {
  /** namespace/deployment, for answers and logs. */
  readonly name: string;
  /** Whose share of the interceptor the app's held connections count against. */
  readonly namespace: string;
  /** False until the app's Deployment and endpoints are first known: until then, hold. */
  readonly synced: boolean;
  /** The app's own settings are known (its Deployment has been seen), not just the defaults. */
  readonly settingsKnown: boolean;
  readonly settings: HoldSettings;
  /** Why the app cannot come up, while no pod is ready. */
  readonly failure: string | undefined;
  /** Pods ready for this route now. */
  targets(route: Route): readonly Target[];
  /** A connect to `target` failed: leave it out until it is confirmed ready again. */
  unusable(target: Target): void;
  /** Connections are held and no pod is ready: wake the app (idempotent). */
  wake(): void;
  /** Held connections reached the hold timeout. */
  timedOut(): void;
  /** The answer while the app is asleep outside its awake-hours and refuses requests (interceptor/hours.ts). */
  closed?(now: number): Refusal | undefined;
  /** Set when browsers get a waiting page (lull.dev/waiting-page): held requests' heads are then read to tell. */
  readonly waitingPage?: PageSource | undefined;
}

export type Outcome = 'forwarded' | 'held_forwarded' | 'refused_max_held' | 'refused_namespace_full' | 'refused_full' | 'refused_timeout' | 'refused_wake_failed' | 'refused_stopping' | 'refused_outside_hours' | 'waiting_page' | 'wait_answered' | 'retried';

/** Connections held, and forwarded ones still open, over the whole interceptor: shared by every app's Hold. */
export class Totals {
  held = 0;
  open = 0;
  /** Held per namespace; a namespace with none is not kept. */
  readonly #heldIn = new Map<string, number>();
  #waiters: Array<() => void> = [];

  heldIn(namespace: string): number {
    return this.#heldIn.get(namespace) ?? 0;
  }

  /** The namespaces holding the most, for the admin view and tests. */
  namespaces(): ReadonlyMap<string, number> {
    return this.#heldIn;
  }

  hold(namespace: string, delta: 1 | -1): void {
    this.held += delta;
    const n = (this.#heldIn.get(namespace) ?? 0) + delta;
    if (n > 0) this.#heldIn.set(namespace, n);
    else this.#heldIn.delete(namespace);
  }

  /** Resolves once nothing is held or open. */
  quiet(): Promise<void> {
    if (this.held === 0 && this.open === 0) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  changed(): void {
    if (this.held === 0 && this.open === 0) for (const resolve of this.#waiters.splice(0)) resolve();
  }
}

export interface HoldContext {
  total: Totals;
  /** Over all apps: the interceptor's cap, and each namespace's share of it. */
  caps: HoldCaps;
  /** Connects in flight per app: a wake with thousands held does not flood the new pod's accept queue. */
  maxConnecting: number;
  count(outcome: Outcome): void;
  /** Time from arrival to forwarding, for held connections. */
  observeHeld(ms: number): void;
}

interface Held {
  socket: Socket;
  route: Route;
  arrivedAt: number;
  /** Arrival order, for refusing the newest first. */
  seq: number;
  /** Its head being read for the waiting page (once per connection). */
  peek?: Peek;
  /** The waiting page's long poll: answered, not forwarded, when the app is ready. */
  answer?: () => void;
}

function noop(): void {}

export class Hold {
  readonly #view: AppView;
  readonly #ctx: HoldContext;
  /** Per interceptor port, oldest first. */
  readonly #queues = new Map<number, Set<Held>>();
  #held = 0;
  #connecting = 0;
  #next = 0;
  #seq = 0;
  #timer: NodeJS.Timeout | undefined;
  #timerAt = 0;
  #armedTimeout = 0;
  #stopping = false;
  #lookedAtAll = false;

  constructor(view: AppView, ctx: HoldContext) {
    this.#view = view;
    this.#ctx = ctx;
  }

  get held(): number {
    return this.#held;
  }

  /** Nothing held and nothing being connected. */
  get idle(): boolean {
    return this.#held === 0 && this.#connecting === 0;
  }

  accept(socket: Socket, route: Route, now = Date.now()): void {
    socket.on('error', noop); // A reset while held: 'close' follows and removes it.
    if (this.#stopping) return this.#refuse(socket, 'refused_stopping', errors.interceptorStopping, this.#view.name);
    const view = this.#view;
    if (view.synced && this.#queue(route.port).size === 0) {
      const target = this.#pick(route);
      if (target !== undefined) return this.#forward({ socket, route, arrivedAt: now, seq: 0 }, target, false);
      if (view.failure !== undefined) return this.#refuse(socket, 'refused_wake_failed', errors.wakeFailed, view.name, view.failure);
    }
    const closed = view.settingsKnown ? view.closed?.(now) : undefined;
    if (closed !== undefined) {
      this.#ctx.count('refused_outside_hours');
      if (view.waitingPage === undefined) return void refuse(socket, closed);
      return void pageOrRefuse(socket, view.waitingPage, closed);
    }
    const total = this.#ctx.total;
    const admission = admit(this.#held, view.settings, total.heldIn(view.namespace), total.held, this.#ctx.caps);
    if (admission === 'app-full') return this.#refuse(socket, 'refused_max_held', errors.tooManyHeld, view.name, this.#held);
    if (admission === 'namespace-full') return this.#refuse(socket, 'refused_namespace_full', errors.namespaceFull, view.namespace, total.heldIn(view.namespace));
    if (admission === 'interceptor-full') return this.#refuse(socket, 'refused_full', errors.interceptorFull, total.held);
    this.#enqueue({ socket, route, arrivedAt: now, seq: ++this.#seq });
    if (view.synced) {
      view.wake();
      this.#dispatch();
    }
  }

  /** The view changed (pods ready, failure, settings): forward, answer or re-arm. */
  update(now = Date.now()): void {
    if (this.#held === 0) return;
    const view = this.#view;
    // The app's own max-held applies the moment its Deployment is seen, endpoints known or not.
    if (view.settingsKnown) this.#enforceCap();
    const closed = view.settingsKnown ? view.closed?.(now) : undefined;
    if (closed !== undefined) return this.#refuseAll('refused_outside_hours', closed);
    // The page was switched on (or its Deployment first seen) while connections waited: look at them now.
    if (view.waitingPage === undefined) this.#lookedAtAll = false;
    else if (!this.#lookedAtAll) {
      this.#lookedAtAll = true;
      for (const held of [...this.#all()]) this.#lookAt(held);
    }
    if (!view.synced) return;
    this.#dispatch();
    if (this.#held === 0) return;
    if (view.failure !== undefined && !this.#anyTarget()) {
      this.#refuseWhere(() => true, 'refused_wake_failed', errors.wakeFailed, view.name, view.failure);
      return;
    }
    view.wake();
    if (this.#armedTimeout !== view.settings.holdTimeoutMs) this.#arm(now);
  }

  /** Shutting down: answer everything still held, and whatever arrives from now on. */
  stop(): void {
    this.#stopping = true;
    this.#refuseWhere(() => true, 'refused_stopping', errors.interceptorStopping, this.#view.name);
  }

  #queue(port: number): Set<Held> {
    let queue = this.#queues.get(port);
    if (queue === undefined) this.#queues.set(port, (queue = new Set()));
    return queue;
  }

  #enqueue(held: Held): void {
    this.#queue(held.route.port).add(held);
    this.#held++;
    this.#ctx.total.hold(this.#view.namespace, 1);
    // A client reset while held, or a socket destroyed elsewhere: it no longer counts.
    held.socket.once('close', () => this.#remove(held));
    this.#arm(Date.now(), held.arrivedAt);
    this.#lookAt(held);
  }

  #lookAt(held: Held): void {
    const page = this.#view.waitingPage;
    if (page === undefined || held.peek !== undefined) return;
    held.peek = lookAt(held.socket, page, {
      leave: () => {
        if (!this.#remove(held)) return false;
        this.#ctx.count('waiting_page');
        return true;
      },
      poll: (answer) => (held.answer = answer),
    });
  }

  #remove(held: Held): boolean {
    held.peek?.release();
    if (!this.#queues.get(held.route.port)?.delete(held)) return false;
    this.#held--;
    this.#ctx.total.hold(this.#view.namespace, -1);
    this.#ctx.total.changed();
    return true;
  }

  #pick(route: Route): Target | undefined {
    const targets = this.#view.targets(route);
    if (targets.length === 0) return undefined;
    return targets[this.#next++ % targets.length];
  }

  #anyTarget(): boolean {
    for (const queue of this.#queues.values()) {
      const first = queue.values().next().value;
      if (first !== undefined && this.#view.targets(first.route).length > 0) return true;
    }
    return false;
  }

  #dispatch(): void {
    for (const queue of this.#queues.values()) {
      for (const held of queue) {
        if (this.#connecting >= this.#ctx.maxConnecting) return;
        const target = this.#pick(held.route);
        if (target === undefined) break; // Same route for the whole queue: none ready.
        this.#remove(held);
        if (held.answer !== undefined) {
          held.answer();
          this.#ctx.count('wait_answered');
          continue;
        }
        this.#forward(held, target, true);
      }
    }
  }

  #forward(held: Held, target: Target, wasHeld: boolean): void {
    this.#connecting++;
    const total = this.#ctx.total;
    forward(held.socket, target, {
      connected: () => {
        this.#connecting--;
        if (!held.socket.destroyed) {
          total.open++;
          held.socket.once('close', () => {
            total.open--;
            total.changed();
          });
        }
        this.#ctx.count(wasHeld ? 'held_forwarded' : 'forwarded');
        if (wasHeld) this.#ctx.observeHeld(Date.now() - held.arrivedAt);
        this.#dispatch();
      },
      failed: () => {
        this.#connecting--;
        this.#ctx.count('retried');
        this.#view.unusable(target);
        // Nothing was read from the client: it waits again, keeping its place in time.
        if (!held.socket.destroyed) this.#enqueue(held);
        this.update();
      },
    });
  }

  #enforceCap(): void {
    const excess = overCap(this.#held, this.#view.settings);
    if (excess === 0) return;
    const newest = [...this.#all()].sort((a, b) => b.seq - a.seq).slice(0, excess);
    const refused = new Set(newest);
    this.#refuseWhere((h) => refused.has(h), 'refused_max_held', errors.tooManyHeld, this.#view.name, this.#held - excess);
  }

  *#all(): Iterable<Held> {
    for (const queue of this.#queues.values()) yield* queue;
  }

  /** Keeps one timer, for the oldest held connection; `arrivedAt` is a newcomer's, else everything is looked at. */
  #arm(now: number, arrivedAt?: number): void {
    if (this.#held === 0) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
      return;
    }
    const settings = this.#view.settings;
    let oldest = arrivedAt ?? Infinity;
    // A newcomer cannot be due before the armed deadline unless the timeout changed: O(1) per connection.
    if (arrivedAt !== undefined && this.#timer !== undefined && this.#armedTimeout === settings.holdTimeoutMs && holdDeadline(arrivedAt, settings) >= this.#timerAt) return;
    if (arrivedAt === undefined || this.#armedTimeout !== settings.holdTimeoutMs) {
      for (const held of this.#all()) if (held.arrivedAt < oldest) oldest = held.arrivedAt;
    }
    const at = holdDeadline(oldest, settings);
    if (this.#timer !== undefined && this.#timerAt === at) return;
    clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#armedTimeout = settings.holdTimeoutMs;
    this.#timer = setTimeout(() => this.#expire(), Math.max(0, at - now));
  }

  #expire(now = Date.now()): void {
    this.#timer = undefined;
    const settings = this.#view.settings;
    const before = this.#held;
    this.#refuseWhere((h) => holdDeadline(h.arrivedAt, settings) <= now, 'refused_timeout', errors.holdTimeout, this.#view.name, formatDuration(settings.holdTimeoutMs));
    if (this.#held < before) this.#view.timedOut();
    this.#arm(now);
  }

  #refuseWhere(which: (held: Held) => boolean, outcome: Outcome, def: ErrorDef, ...args: unknown[]): void {
    const refusal = refusalOf(lullError(def, ...args));
    for (const held of [...this.#all()]) {
      if (!which(held)) continue;
      this.#remove(held);
      this.#ctx.count(outcome);
      void refuse(held.socket, refusal);
    }
    if (this.#held === 0) this.#arm(0);
  }

  #refuseAll(outcome: Outcome, refusal: Refusal): void {
    for (const held of [...this.#all()]) {
      this.#remove(held);
      this.#ctx.count(outcome);
      const page = this.#view.waitingPage;
      if (page === undefined) void refuse(held.socket, refusal);
      else pageOrRefuse(held.socket, page, refusal);
    }
    this.#arm(0);
  }

  #refuse(socket: Socket, outcome: Outcome, def: ErrorDef, ...args: unknown[]): void {
    this.#ctx.count(outcome);
    void refuse(socket, refusalOf(lullError(def, ...args)));
  }
}

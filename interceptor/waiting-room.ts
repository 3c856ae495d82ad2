// What the interceptor does with a held request once its head is known and the app has a waiting page:
// a navigation gets the page at once (and leaves the hold); the page's long poll waits with the held
// connections and is answered, instead of forwarded, when the app is ready. The rest stays held as ever.
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { classify } from './navigation.ts';
import { peekHead, type Peek } from './peek.ts';
import type { RequestHead } from './request-head.ts';
import { refuse, type Refusal } from './refuse.ts';
import { pageResponse, pollResponse, POLL_TIMEOUT_MS, renderPage } from './waiting-page.ts';

/** The app's side of the page: its template and names, and how long it has been waking. */
export interface PageSource {
  readonly app: string;
  readonly namespace: string;
  /** The template to render (the app's own once fetched, else the built-in one). */
  template(): Promise<string>;
  /** Since the wake began; 0 when unknown. */
  elapsedMs(): number;
  /** When an app closed by its schedule opens again ('' when it is not closed). */
  opensAt(): string;
}

export interface RoomHooks {
  /** A navigation: answered with the page; it no longer waits. Returns false when it was answered otherwise meanwhile. */
  leave(): boolean;
  /** The page's long poll: `answer` replaces forwarding once the app is ready. */
  poll(answer: () => void): void;
}

/** How long the closing answer lingers before the socket is cut, so the client reads it rather than a reset. */
const LINGER_MS = 2000;

/** Starts reading the held request's head; the returned Peek gives the bytes back when released. */
export function lookAt(socket: Socket, source: PageSource, hooks: RoomHooks): Peek {
  return peekHead(socket, (head) => {
    if (head === undefined) return;
    const kind = classify(head);
    if (kind === 'navigation' && hooks.leave()) void servePage(socket, head, source);
    else if (kind === 'wait-poll') hooks.poll(waitPoll(socket, head, source));
  });
}

/** Outside awake-hours with outside-hours: refuse: a browser's navigation gets the page saying when the app opens, the rest the 503. */
export function pageOrRefuse(socket: Socket, source: PageSource, refusal: Refusal): Peek {
  return peekHead(socket, (head) => {
    if (head !== undefined && classify(head) === 'navigation') void servePage(socket, head, source);
    else void refuse(socket, refusal);
  });
}

async function servePage(socket: Socket, head: RequestHead, source: PageSource): Promise<void> {
  const template = await source.template();
  const nonce = randomBytes(16).toString('base64');
  const html = renderPage(template, { app: source.app, namespace: source.namespace, elapsedMs: source.elapsedMs(), opensAt: source.opensAt(), nonce });
  close(socket, pageResponse(html, nonce, head.version, head.method === 'HEAD'));
}

/** Returns the "ready" answer; answers "waking" by itself when the app takes longer than one poll. */
function waitPoll(socket: Socket, head: RequestHead, source: PageSource): () => void {
  let answered = false;
  const answer = (state: 'ready' | 'waking') => {
    clearTimeout(timer);
    if (answered || socket.destroyed || socket.writableEnded) return;
    answered = true;
    close(socket, pollResponse(state, source.elapsedMs(), head.version));
  };
  const timer = setTimeout(() => answer('waking'), POLL_TIMEOUT_MS);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
  return () => answer('ready');
}

/** Answers and closes: what the client still sends is read and dropped until it closes too. */
function close(socket: Socket, response: Buffer): void {
  if (socket.destroyed) return;
  socket.end(response);
  socket.on('data', () => {});
  socket.once('end', () => socket.destroy());
  socket.resume();
  setTimeout(() => socket.destroy(), LINGER_MS).unref();
}

// How the demo speaks: numbered steps, ✓ lines with the time they took, indented details, and on a
// terminal one live line that is rewritten in place (a countdown), plain lines otherwise (CI logs).
import { preciseDuration } from '../core/duration.ts';

export interface Narrator {
  step(title: string): void;
  done(what: string, ms?: number): void;
  detail(line: string): void;
  /** A line that changes (a countdown); on a terminal it is rewritten, elsewhere only every `plainEveryMs`. */
  live(line: string): void;
  endLive(): void;
  blank(): void;
  raw(text: string): void;
}

export function narrator(out: NodeJS.WriteStream = process.stdout, totalSteps: number, plainEveryMs = 10_000): Narrator {
  const tty = out.isTTY === true;
  const color = (code: number, text: string) => (tty ? `\x1b[${code}m${text}\x1b[0m` : text);
  let n = 0;
  let liveShown = false;
  let lastPlain = Date.now();
  const write = (line: string) => {
    if (liveShown) {
      out.write('\r\x1b[2K');
      liveShown = false;
    }
    out.write(`${line}\n`);
  };
  return {
    step(title) {
      write('');
      write(color(1, `[${++n}/${totalSteps}] ${title}`));
    },
    done(what, ms) {
      write(`      ${color(32, '✓')} ${what}${ms === undefined ? '' : color(2, `  (${preciseDuration(ms)})`)}`);
    },
    detail(line) {
      write(`        ${line}`);
    },
    live(line) {
      if (tty) {
        out.write(`\r\x1b[2K      ${color(2, line)}`);
        liveShown = true;
      } else if (Date.now() - lastPlain >= plainEveryMs) {
        lastPlain = Date.now();
        out.write(`      ${line}\n`);
      }
    },
    endLive() {
      if (liveShown) out.write('\r\x1b[2K');
      liveShown = false;
    },
    blank() {
      write('');
    },
    raw(text) {
      write(text);
    },
  };
}

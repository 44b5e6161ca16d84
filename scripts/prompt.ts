/**
 * Hidden answers from a terminal: raw mode, so nothing is echoed and the line discipline never holds
 * the value; bytes are kept in buffers that are zeroed as soon as they are copied or dropped.
 */
import type { ReadStream } from 'node:tty';

const ENTER = new Set([0x0d, 0x0a]);
const CTRL_C = 0x03;
const CTRL_D = 0x04;
const CTRL_U = 0x15;
const BACKSPACE = new Set([0x7f, 0x08]);
/** Input waiting in the terminal arrives within this long of reading it: what is typed ahead is dropped. */
const TYPE_AHEAD_MS = 50;

/**
 * Asks each prompt in turn on stderr and reads one hidden line per prompt from the terminal on stdin.
 * Ctrl-C ends the process with SIGINT, as anywhere else; Ctrl-D on an empty line answers empty. What
 * was typed before the first prompt appeared is dropped, never taken as an answer.
 */
export function readHiddenLines(prompts: readonly string[]): Promise<Buffer[]> {
  const input = process.stdin as ReadStream;
  const answers: Buffer[] = [];
  const line = new ByteLine();
  return new Promise((resolve) => {
    const stop = () => {
      input.off('data', onData);
      input.setRawMode(false);
      input.pause();
    };
    const onData = (chunk: Buffer) => {
      // A paste can hold several answers, so the chunk is read byte by byte across prompts.
      for (const byte of chunk) {
        if (byte === CTRL_C) {
          line.clear();
          for (const answer of answers) answer.fill(0);
          chunk.fill(0);
          stop();
          process.stderr.write('\n');
          process.kill(process.pid, 'SIGINT');
          return;
        }
        if (ENTER.has(byte) || (byte === CTRL_D && line.length === 0)) {
          answers.push(line.take());
          process.stderr.write('\n');
          if (answers.length === prompts.length) {
            stop();
            resolve(answers);
            break;
          }
          process.stderr.write(prompts[answers.length]!);
        } else if (BACKSPACE.has(byte)) {
          line.backspace();
        } else if (byte === CTRL_U) {
          line.clear();
        } else if (byte !== CTRL_D) {
          line.push(byte);
        }
      }
      chunk.fill(0);
    };
    // Echo goes off before the prompt shows, so nothing typed in answer to it can reach the screen.
    input.setRawMode(true);
    // Keys typed before the prompt (the terminal already echoed them) are no answer to it: read and drop
    // whatever is waiting, then ask.
    let early = 0;
    const dropTypeAhead = (chunk: Buffer) => {
      if (chunk.includes(CTRL_C)) {
        chunk.fill(0);
        stop();
        process.kill(process.pid, 'SIGINT');
        return;
      }
      early += chunk.length;
      chunk.fill(0);
    };
    input.on('data', dropTypeAhead);
    input.resume();
    setTimeout(() => {
      input.off('data', dropTypeAhead);
      if (early > 0) process.stderr.write(`(ignored ${early} key${early === 1 ? '' : 's'} typed before the prompt)\n`);
      process.stderr.write(prompts[0]!);
      input.on('data', onData);
    }, TYPE_AHEAD_MS);
  });
}

/** A growing line of bytes that never leaves a copy of itself behind in memory it let go of. */
class ByteLine {
  private bytes = Buffer.alloc(64);
  length = 0;

  push(byte: number): void {
    if (this.length === this.bytes.length) {
      const bigger = Buffer.alloc(this.bytes.length * 2);
      this.bytes.copy(bigger);
      this.bytes.fill(0);
      this.bytes = bigger;
    }
    this.bytes[this.length++] = byte;
  }

  /** Removes the last character: a UTF-8 lead byte and its continuation bytes (10xxxxxx). */
  backspace(): void {
    while (this.length > 0) {
      const byte = this.bytes[--this.length]!;
      this.bytes[this.length] = 0;
      if ((byte & 0xc0) !== 0x80) break;
    }
  }

  clear(): void {
    this.bytes.fill(0, 0, this.length);
    this.length = 0;
  }

  /** The line so far, in a buffer of its own; this line starts over empty. */
  take(): Buffer {
    const copy = Buffer.alloc(this.length);
    this.bytes.copy(copy, 0, 0, this.length);
    this.clear();
    return copy;
  }
}

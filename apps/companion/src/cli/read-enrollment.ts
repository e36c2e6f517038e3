import { decodeEnrollment, type TEnrollment } from "../protocol";

/** At most this many characters are read for the enrollment string (it is a few hundred). */
const MAX_CHARS = 4096;

/** stdin as `readEnrollment` uses it: on a terminal, Node's tty.ReadStream with setRawMode. */
export type EnrollmentInput = NodeJS.ReadableStream & {
  isTTY?: boolean;
  isRaw?: boolean;
  setRawMode?: (mode: boolean) => unknown;
};

/**
 * Gets the enrollment string from VEIL_ENROLL or, failing that, from stdin (first line, at most
 * 4 KiB) — never from argv, where any local user could read it in `ps`. On a terminal the string
 * is not echoed (it would stay on screen and in the terminal's scrollback): raw mode, set before
 * the prompt is shown and restored however the read ends; Ctrl-C stops with nothing read.
 */
export async function readEnrollment(
  fromEnv: string | undefined,
  stdin: EnrollmentInput = process.stdin,
  prompt: NodeJS.WritableStream = process.stderr,
): Promise<TEnrollment> {
  if (fromEnv !== undefined && fromEnv.trim() !== "") return decodeEnrollment(fromEnv);
  const text =
    stdin.isTTY === true && typeof stdin.setRawMode === "function"
      ? await readHidden(stdin, stdin.setRawMode.bind(stdin), prompt)
      : await readLine(stdin);
  if (text.trim() === "") throw new Error("no enrollment string: set VEIL_ENROLL or pipe it on stdin");
  return decodeEnrollment(text);
}

/** The first line of a pipe or file. */
function readLine(stdin: NodeJS.ReadableStream): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let data = "";
    const onData = (chunk: Buffer | string): void => {
      data += chunk.toString();
      if (data.length > MAX_CHARS) {
        cleanup();
        reject(new Error("the enrollment string on stdin is too long"));
      } else if (data.includes("\n")) {
        cleanup();
        resolve(data.slice(0, data.indexOf("\n")));
      }
    };
    const onEnd = (): void => {
      cleanup();
      resolve(data);
    };
    const cleanup = (): void => {
      stdin.off("data", onData);
      stdin.off("end", onEnd);
      stdin.pause();
    };
    stdin.on("data", onData);
    stdin.on("end", onEnd);
    stdin.on("error", reject);
  });
}

/**
 * One line typed or pasted on a terminal in raw mode: no echo, and no line editing by the
 * terminal, so this does the little a paste needs (Enter ends it, Backspace and Ctrl-U erase,
 * Ctrl-D on an empty line ends it, other control characters are dropped). Raw mode also turns
 * Ctrl-C into a character: it ends the read with an error, not with the terminal left silent.
 */
function readHidden(
  stdin: EnrollmentInput,
  setRawMode: (mode: boolean) => unknown,
  prompt: NodeJS.WritableStream,
): Promise<string> {
  const wasRaw = stdin.isRaw === true;
  // Before the prompt: anything typed once it shows is read without echo.
  setRawMode(true);
  prompt.write("Paste the enrollment string (veil1_…; it is not shown) and press Enter: ");
  return new Promise<string>((resolve, reject) => {
    let data = "";
    const finish = (error?: Error): void => {
      stdin.off("data", onData);
      stdin.off("end", onEnd);
      stdin.off("error", onError);
      stdin.pause();
      setRawMode(wasRaw);
      prompt.write("\n");
      if (error === undefined) resolve(data);
      else {
        data = "";
        reject(error);
      }
    };
    const onData = (chunk: Buffer | string): void => {
      for (const ch of chunk.toString()) {
        if (ch === "\r" || ch === "\n") return finish();
        if (ch === "\u0003") return finish(new Error("interrupted (Ctrl-C): nothing was enrolled"));
        if (ch === "\u0004") {
          if (data === "") return finish();
        } else if (ch === "\u007f" || ch === "\b") data = data.slice(0, -1);
        else if (ch === "\u0015") data = "";
        else if (ch >= " ") data += ch;
        if (data.length > MAX_CHARS) return finish(new Error("the enrollment string on stdin is too long"));
      }
    };
    const onEnd = (): void => finish();
    const onError = (error: Error): void => finish(error);
    stdin.on("data", onData);
    stdin.on("end", onEnd);
    stdin.on("error", onError);
    stdin.resume();
  });
}

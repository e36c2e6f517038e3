import { decodeEnrollment, type TEnrollment } from "../protocol";

/**
 * Gets the enrollment string from VEIL_ENROLL or, failing that, from stdin (first line, at most
 * 4 KiB) — never from argv, where any local user could read it in `ps`.
 */
export async function readEnrollment(
  fromEnv: string | undefined,
  stdin: NodeJS.ReadableStream & { isTTY?: boolean } = process.stdin,
): Promise<TEnrollment> {
  if (fromEnv !== undefined && fromEnv.trim() !== "") return decodeEnrollment(fromEnv);
  if (stdin.isTTY === true) process.stderr.write("Paste the enrollment string (veil1_…) and press Enter:\n");
  const text = await new Promise<string>((resolve, reject) => {
    let data = "";
    const onData = (chunk: Buffer | string): void => {
      data += chunk.toString();
      if (data.length > 4096) {
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
  if (text.trim() === "") throw new Error("no enrollment string: set VEIL_ENROLL or pipe it on stdin");
  return decodeEnrollment(text);
}

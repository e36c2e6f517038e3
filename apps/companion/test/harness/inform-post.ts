import http from "node:http";

/**
 * One `POST /inform` to the companion's inform port from `localAddress` (Linux routes all of
 * 127/8 to lo, so each test device or attacker can have an address of its own): the HTTP
 * status, or the code of the socket error that ended it (a refused or reset connection).
 */
export function postInform(
  port: number,
  payload: Uint8Array,
  localAddress = "127.0.0.1",
  agent: http.Agent | false = false,
): Promise<number | string> {
  return new Promise((resolve) => {
    const req = http.request(
      {
        host: "127.0.0.1",
        port,
        path: "/inform",
        method: "POST",
        localAddress,
        agent,
        headers: { "content-length": payload.length },
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? "error"));
    req.end(payload);
  });
}

// The install line holds the instance token. Copied to the clipboard and left there, it outlives
// the panel: anything that reads the clipboard later (another site's paste, a clipboard manager,
// the next person at the machine) gets the token. The panel's guard
// (client/instances/install-panel.tsx `secretClipboard`) clears it on "Done", when the panel
// goes and two minutes after copying — but only while the clipboard still holds it, so the
// admin's own later copy is never erased — and never throws, whatever the clipboard does.
import { describe, expect, it } from "vitest";

const { CLIPBOARD_CLEAR_MS, secretClipboard } = await import("../src/client/instances/install-panel");

const LINE = "(f=$(mktemp) && … printf '%s\\n' 'veil1_secret' | sudo sh \"$f\")";

/** A fake clipboard and clock: what is on it, who may read it, scheduled timers. */
function harness(options: { readable?: boolean | "throws"; writeFails?: boolean } = {}) {
  const clip = { text: "", writes: [] as string[] };
  const timers = new Map<number, { run: () => void; at: number }>();
  let now = 0;
  let next = 1;
  const port = {
    writeText: (text: string) => {
      if (options.writeFails) return Promise.reject(new DOMException("denied", "NotAllowedError"));
      clip.text = text;
      clip.writes.push(text);
      return Promise.resolve();
    },
    ...(options.readable === undefined || options.readable === false
      ? {}
      : {
          readText: () =>
            options.readable === "throws"
              ? Promise.reject(new DOMException("denied", "NotAllowedError"))
              : Promise.resolve(clip.text),
        }),
  };
  const guard = secretClipboard(port, {
    setTimer: (run, ms) => {
      const id = next++;
      timers.set(id, { run, at: now + ms });
      return id;
    },
    clearTimer: (id) => void timers.delete(id as number),
  });
  /** Advances the clock, running due timers. */
  const advance = async (ms: number) => {
    now += ms;
    for (const [id, t] of [...timers]) {
      if (t.at <= now) {
        timers.delete(id);
        t.run();
      }
    }
    await new Promise((r) => setTimeout(r, 0));
  };
  /** Someone copies in another program (the page cannot see it, except that it lost focus). */
  const elsewhere = (text: string) => {
    clip.text = text;
  };
  return { clip, guard, advance, elsewhere, timers };
}

describe("the install line on the clipboard", () => {
  it("is cleared on Done (or when the panel goes) while it is still there", async () => {
    for (const readable of [true, false, "throws"] as const) {
      const h = harness({ readable });
      expect(await h.guard.copy(LINE)).toBe(true);
      expect(h.clip.text).toBe(LINE);
      await h.guard.clear();
      expect(h.clip.text).toBe("");
      expect(h.timers.size).toBe(0);
    }
  });

  it("is cleared two minutes after copying if nobody clicks Done", async () => {
    const h = harness({ readable: false });
    await h.guard.copy(LINE);
    await h.advance(CLIPBOARD_CLEAR_MS - 1);
    expect(h.clip.text).toBe(LINE);
    await h.advance(1);
    expect(h.clip.text).toBe("");
    expect(CLIPBOARD_CLEAR_MS).toBe(120_000);
  });

  it("the admin's later copy elsewhere is kept: read back when readable, else the page lost focus", async () => {
    const readable = harness({ readable: true });
    await readable.guard.copy(LINE);
    readable.elsewhere("my own text");
    await readable.advance(CLIPBOARD_CLEAR_MS);
    expect(readable.clip.text).toBe("my own text");

    for (const mode of [false, "throws"] as const) {
      const h = harness({ readable: mode });
      await h.guard.copy(LINE);
      h.guard.foreignActivity(); // blur / hidden / copy event in the page
      h.elsewhere("my own text");
      await h.guard.clear();
      expect(h.clip.text).toBe("my own text");
      expect(h.clip.writes).toEqual([LINE]);
    }
  });

  it("a second copy restarts the two minutes, and either line is cleared", async () => {
    const h = harness({ readable: true });
    await h.guard.copy(LINE);
    await h.advance(CLIPBOARD_CLEAR_MS - 10);
    await h.guard.copy(`${LINE} # prefix`);
    await h.advance(10);
    expect(h.clip.text).toBe(`${LINE} # prefix`);
    await h.advance(CLIPBOARD_CLEAR_MS);
    expect(h.clip.text).toBe("");
  });

  it("never throws and writes nothing when the clipboard refuses, or after it was cleared once", async () => {
    const refused = harness({ writeFails: true });
    expect(await refused.guard.copy(LINE)).toBe(false);
    await expect(refused.guard.clear()).resolves.toBeUndefined();
    expect(refused.timers.size).toBe(0);

    const h = harness({ readable: true });
    await h.guard.copy(LINE);
    await h.guard.clear();
    h.elsewhere("later");
    await h.guard.clear();
    await h.advance(CLIPBOARD_CLEAR_MS);
    expect(h.clip.text).toBe("later");
  });
});

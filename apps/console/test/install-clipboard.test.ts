// The install line holds the instance token. Copied to the clipboard and left there, it outlives
// the panel: anything that reads the clipboard later (another site's paste, a clipboard manager,
// the next person at the machine) gets the token. The panel's guard
// (client/instances/install-panel.tsx `secretClipboard`) clears it on "Done", when the panel
// goes and two minutes after copying, never erases what the page itself copied later (the key
// card, through client/clipboard.ts, fires no copy event), clears on "Done" in the usual flow
// (copy, paste into a terminal in another window, come back, Done) even where the page cannot
// read the clipboard, says when it could not confirm the line is gone, and never throws.
import { afterEach, describe, expect, it, vi } from "vitest";

const { CLIPBOARD_CLEAR_MS, browserClipboard, secretClipboard } = await import("../src/client/instances/install-panel");
const { copyText, pageClipboardWrites } = await import("../src/client/clipboard");

const LINE = "(f=$(mktemp) && … printf '%s\\n' 'veil1_secret' | sudo sh \"$f\")";

/** A fake clipboard and clock: what is on it, who may read it, scheduled timers. */
function harness(options: { readable?: boolean | "throws"; writeFails?: boolean } = {}) {
  const clip = { text: "", writes: [] as string[], pageWrites: 0 };
  const timers = new Map<number, { run: () => void; at: number }>();
  let now = 0;
  let next = 1;
  const port = {
    writeText: (text: string) => {
      if (options.writeFails) return Promise.reject(new DOMException("denied", "NotAllowedError"));
      clip.text = text;
      clip.writes.push(text);
      clip.pageWrites += 1;
      return Promise.resolve();
    },
    writes: () => clip.pageWrites,
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
  /** The page writes the clipboard somewhere else (the key card's Copy, client/clipboard.ts). */
  const inPage = (text: string) => {
    clip.text = text;
    clip.pageWrites += 1;
  };
  return { clip, guard, advance, elsewhere, inPage, timers };
}

describe("the install line on the clipboard", () => {
  it("is cleared on Done (or when the panel goes) while it is still there", async () => {
    for (const readable of [true, false, "throws"] as const) {
      const h = harness({ readable });
      expect(await h.guard.copy(LINE)).toBe(true);
      expect(h.clip.text).toBe(LINE);
      expect(await h.guard.clear()).toBe("cleared");
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

  it("the admin's later copy elsewhere is kept by the timer and the panel's going: read back, else the page lost focus", async () => {
    const readable = harness({ readable: true });
    await readable.guard.copy(LINE);
    readable.elsewhere("my own text");
    await readable.advance(CLIPBOARD_CLEAR_MS);
    expect(readable.clip.text).toBe("my own text");

    for (const mode of [false, "throws"] as const) {
      const h = harness({ readable: mode });
      await h.guard.copy(LINE);
      h.guard.leftPage(); // blur / hidden
      h.elsewhere("my own text");
      expect(await h.guard.clear()).toBe("unconfirmed");
      expect(h.clip.text).toBe("my own text");
      expect(h.clip.writes).toEqual([LINE]);
    }
  });

  it("Done after pasting it in another window clears it even where the page cannot read the clipboard", async () => {
    for (const mode of [false, "throws"] as const) {
      const h = harness({ readable: mode });
      await h.guard.copy(LINE);
      h.guard.leftPage(); // the admin switches to a terminal to paste, then comes back
      await h.advance(CLIPBOARD_CLEAR_MS); // the timer does not clear after the page lost focus...
      expect(h.clip.text).toBe(LINE);
      expect(await h.guard.clear({ gesture: true })).toBe("cleared"); // ...Done still does
      expect(h.clip.text).toBe("");
    }
    // Where it can read, Done keeps what is not the line.
    const readable = harness({ readable: true });
    await readable.guard.copy(LINE);
    readable.guard.leftPage();
    readable.elsewhere("my own text");
    expect(await readable.guard.clear({ gesture: true })).toBe("absent");
    expect(readable.clip.text).toBe("my own text");
  });

  it("never erases what the page copied later (the key card), even on Done, and says so", async () => {
    for (const mode of [false, "throws"] as const) {
      const h = harness({ readable: mode });
      await h.guard.copy(LINE);
      h.inPage("veilkey1_card"); // navigator.clipboard.writeText: no copy event, no blur
      await h.advance(CLIPBOARD_CLEAR_MS);
      expect(h.clip.text).toBe("veilkey1_card");
      expect(await h.guard.clear({ gesture: true })).toBe("unconfirmed");
      expect(h.clip.text).toBe("veilkey1_card");

      const event = harness({ readable: mode });
      await event.guard.copy(LINE);
      event.guard.copiedInPage(); // Ctrl+C in the page: perhaps the line itself, perhaps not
      expect(await event.guard.clear({ gesture: true })).toBe("unconfirmed");
      expect(event.clip.writes).toEqual([LINE]);
    }
  });

  it("Done says whether it could confirm: nothing copied, a copy it cannot see into, a refused write", async () => {
    const none = harness({ readable: false });
    expect(await none.guard.clear({ gesture: true })).toBe("absent");
    const selected = harness({ readable: false });
    selected.guard.copiedInPage(); // the line selected and copied by hand
    expect(await selected.guard.clear({ gesture: true })).toBe("unconfirmed");

    let refuse = false;
    const clip = { text: "" };
    const guard = secretClipboard({
      writeText: (text) => {
        if (refuse) return Promise.reject(new DOMException("no user activation", "NotAllowedError"));
        clip.text = text;
        return Promise.resolve();
      },
    });
    await guard.copy(LINE);
    refuse = true;
    expect(await guard.clear({ gesture: true })).toBe("unconfirmed");
    refuse = false;
    expect(await guard.clear({ gesture: true })).toBe("cleared"); // a later try still clears
    expect(clip.text).toBe("");
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
    await expect(refused.guard.clear()).resolves.toBe("absent");
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

describe("the page's clipboard writes go through one door (client/clipboard.ts)", () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it("the key card copied after the line stays; the guard's own write is not counted as another", async () => {
    const board = { text: "" };
    vi.stubGlobal("navigator", {
      clipboard: {
        writeText: (text: string) => {
          board.text = text;
          return Promise.resolve();
        },
        readText: () => Promise.resolve(board.text),
      },
      // Chrome's default: reading would ask, so the page does not read.
      permissions: { query: () => Promise.resolve({ state: "prompt" }) },
    });
    const guard = secretClipboard(browserClipboard());
    const before = pageClipboardWrites();
    await guard.copy(LINE);
    expect(pageClipboardWrites()).toBe(before + 1);
    await copyText("veilkey1_card"); // KeyCard's Copy (instances-view.tsx)
    expect(await guard.clear({ gesture: true })).toBe("unconfirmed");
    expect(board.text).toBe("veilkey1_card");

    const alone = secretClipboard(browserClipboard());
    await alone.copy(LINE);
    expect(await alone.clear({ gesture: true })).toBe("cleared");
    expect(board.text).toBe("");
  });
});

/**
 * The page's clipboard writes, all through one door. `navigator.clipboard.writeText` fires no
 * `copy` event, so a page that writes from several places cannot tell from events alone whether
 * something else went on the clipboard after the install line; the install panel's guard
 * (instances/install-panel.tsx `secretClipboard`) reads {@link pageClipboardWrites} instead, and
 * never erases what the page wrote later (a key card copied after the line).
 */

let writes = 0;

/** Puts `text` on the clipboard and counts the write once the browser took it; rejects like writeText. */
export async function copyText(text: string): Promise<void> {
  await navigator.clipboard.writeText(text);
  writes += 1;
}

/** How many clipboard writes this page made through {@link copyText} (grows only). */
export function pageClipboardWrites(): number {
  return writes;
}

import { StateStore } from "../state/state-store";

/**
 * `veil-companion uninstall`: erases this host's enrollment (secret files overwritten, then the
 * state folder removed). The console keeps the instance until an admin revokes it; the
 * instance token is useless without a re-enrollment the admin starts.
 */
export function uninstallCommand(stateDir: string): { removed: boolean } {
  const store = new StateStore(stateDir);
  try {
    store.check();
  } catch (error) {
    if (error instanceof Error && /does not exist/.test(error.message)) return { removed: false };
    throw error;
  }
  store.remove();
  return { removed: true };
}

"use client";
import { useEffect, useSyncExternalStore } from "react";
import { bootstrap, getServerState, getState, subscribe, type SessionState } from "../session-store";

/** The tab's session state; restores it from sessionStorage on first use. */
export function useSession(): SessionState {
  const state = useSyncExternalStore(subscribe, getState, getServerState);
  useEffect(() => {
    void bootstrap();
  }, []);
  return state;
}

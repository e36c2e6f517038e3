import type { SessionState } from "../session-store";

/** The signed-in session the instance pages work with. */
export type Ready = Extract<SessionState, { status: "ready" }>;

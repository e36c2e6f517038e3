import { z } from "zod";

/**
 * Stable error codes shared by the console, the browser and the companion. A code never
 * changes meaning; clients branch on it. `message` is safe to show a user; internal detail
 * is logged server-side only and never sent.
 */
export const ERROR_TABLE = {
  bad_request: { status: 400, retryable: false, message: "The request was malformed." },
  validation_failed: { status: 400, retryable: false, message: "Some fields are missing or invalid." },
  payload_too_large: { status: 413, retryable: false, message: "The request is too large." },
  unsupported_media_type: { status: 415, retryable: false, message: "Send JSON with Content-Type: application/json." },
  https_required: { status: 403, retryable: false, message: "This endpoint is only served over HTTPS." },
  unauthenticated: { status: 401, retryable: false, message: "Sign in to continue." },
  invalid_credentials: { status: 401, retryable: false, message: "The e-mail or password is wrong." },
  two_factor_required: { status: 401, retryable: false, message: "Enter the code from your authenticator app." },
  invalid_two_factor: { status: 401, retryable: false, message: "That code is not valid." },
  step_up_required: { status: 401, retryable: false, message: "Confirm your password to continue." },
  session_expired: { status: 401, retryable: false, message: "Your session has ended. Sign in again." },
  forbidden: { status: 403, retryable: false, message: "You do not have permission to do that." },
  origin_mismatch: { status: 403, retryable: false, message: "Cross-site requests are not allowed." },
  account_locked: { status: 423, retryable: true, message: "Too many failed attempts. Try again later." },
  instance_revoked: { status: 403, retryable: false, message: "This instance has been revoked." },
  not_found: { status: 404, retryable: false, message: "Not found." },
  method_not_allowed: { status: 405, retryable: false, message: "Method not allowed." },
  conflict: { status: 409, retryable: false, message: "That conflicts with the current state." },
  email_taken: { status: 409, retryable: false, message: "An account with that e-mail already exists." },
  invite_required: { status: 403, retryable: false, message: "Sign-up needs an invitation from an admin." },
  kdf_params_rejected: {
    status: 400,
    retryable: false,
    message: "The key-derivation parameters are outside the allowed range.",
  },
  rate_limited: { status: 429, retryable: true, message: "Too many requests. Slow down and try again." },
  protocol_version_unsupported: {
    status: 426,
    retryable: false,
    message: "This client speaks an unsupported protocol version.",
  },
  unavailable: { status: 503, retryable: true, message: "The service is temporarily unavailable." },
  internal: { status: 500, retryable: true, message: "Something went wrong on our side." },
} as const satisfies Record<string, { status: number; retryable: boolean; message: string }>;

export type ErrorCode = keyof typeof ERROR_TABLE;

/** Every error code, as a zod enum for parsing error bodies. */
export const ZErrorCodeSchema = z.enum(Object.keys(ERROR_TABLE) as [ErrorCode, ...ErrorCode[]]);

/** The JSON body of every error response and every socket error acknowledgement. */
export const ZErrorBodySchema = z.object({
  error: z.object({
    code: ZErrorCodeSchema,
    message: z.string().max(500),
    retryable: z.boolean(),
    /** Field-level problems for validation_failed: path and a short reason, no input echoed. */
    issues: z
      .array(z.object({ path: z.string().max(200), message: z.string().max(200) }))
      .max(50)
      .optional(),
  }),
});
export type TErrorBody = z.infer<typeof ZErrorBodySchema>;

/**
 * An error with a stable code, a retryable flag and a user-safe message, kept apart from the
 * internal detail (which is for logs only and never serialised).
 */
export class VeilError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly status: number;
  readonly detail: string | undefined;
  readonly issues: { path: string; message: string }[] | undefined;

  constructor(
    code: ErrorCode,
    options: { detail?: string; issues?: { path: string; message: string }[]; cause?: unknown } = {},
  ) {
    const entry = ERROR_TABLE[code];
    super(entry.message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "VeilError";
    this.code = code;
    this.retryable = entry.retryable;
    this.status = entry.status;
    this.detail = options.detail;
    this.issues = options.issues;
  }

  /** The body to send: code, user-safe message and issues; never the internal detail. */
  toBody(): TErrorBody {
    return {
      error: {
        code: this.code,
        message: this.message,
        retryable: this.retryable,
        ...(this.issues === undefined ? {} : { issues: this.issues }),
      },
    };
  }
}

/** Turns a zod failure into a validation_failed error that names fields but echoes no input. */
export function validationError(error: z.ZodError): VeilError {
  const issues = error.issues.slice(0, 50).map((issue) => ({
    path: issue.path.map(String).join(".").slice(0, 200) || "(root)",
    message: issue.message.slice(0, 200),
  }));
  return new VeilError("validation_failed", { issues, detail: "zod validation failed" });
}

/**
 * Parses untrusted input with a schema; throws `VeilError("validation_failed")` on failure.
 * The one entry point every inbound body, event, decrypted message and frame goes through.
 */
export function parseOrThrow<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input);
  if (!result.success) throw validationError(result.error);
  return result.data;
}

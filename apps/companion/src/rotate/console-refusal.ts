import { ERROR_TABLE, ZErrorBodySchema, type ErrorCode } from "../protocol";
import type { JsonResponse } from "../transport/https-json";

/**
 * The error code when `res` is the console's own refusal: a 4xx whose body is the console's
 * error body with a code of that very status (PROTOCOL-COMPANION.md §2). Such an answer comes
 * before anything changed (authentication, validation, rate limit, or a rolled-back
 * transaction). Anything else (a 5xx, a proxy's page, a 4xx without that body) says nothing
 * about what the console did: undefined.
 */
export function consoleRefusal(res: JsonResponse): ErrorCode | undefined {
  if (res.status < 400 || res.status > 499) return undefined;
  const parsed = ZErrorBodySchema.safeParse(res.body);
  if (!parsed.success) return undefined;
  const code = parsed.data.error.code;
  return ERROR_TABLE[code].status === res.status ? code : undefined;
}

import { VeilError, ZIdSchema } from "@veil/protocol";

/**
 * The `:id` path parameter as an id (lower case, the one spelling an id has); anything else is a
 * 404 (never a validation echo).
 */
export function idParam(params: Readonly<Record<string, string>>): string {
  const parsed = ZIdSchema.safeParse(params.id);
  if (!parsed.success) throw new VeilError("not_found");
  return parsed.data;
}

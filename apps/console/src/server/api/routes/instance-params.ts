import { VeilError, ZIdSchema } from "@veil/protocol";

/** The `:id` path parameter as an instance id; anything else is a 404 (never a validation echo). */
export function instanceIdParam(params: Readonly<Record<string, string>>): string {
  const parsed = ZIdSchema.safeParse(params.id);
  if (!parsed.success) throw new VeilError("not_found");
  return parsed.data.toLowerCase();
}

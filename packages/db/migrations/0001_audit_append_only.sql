-- Audit log rows are never updated: the hash chain would break silently otherwise.
-- Deletion happens only in retention clean-up (oldest rows first, anchor moved in audit_head).
CREATE OR REPLACE FUNCTION veil_audit_no_update() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only';
END;
$$ LANGUAGE plpgsql;
--> statement-breakpoint
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON "audit_log"
  FOR EACH ROW EXECUTE FUNCTION veil_audit_no_update();
--> statement-breakpoint
INSERT INTO "audit_head" ("id", "last_seq", "last_hash", "anchor_seq", "anchor_hash")
  VALUES (1, 0, decode(repeat('00', 32), 'hex'), 0, decode(repeat('00', 32), 'hex'))
  ON CONFLICT DO NOTHING;

ALTER TABLE "sessions" ADD COLUMN "tab_vault_share" text;
--> statement-breakpoint
-- The tab vault share must not outlive its session: whatever code revokes a session (log-out,
-- revoke, password change, recovery), the same UPDATE clears the share.
CREATE OR REPLACE FUNCTION veil_sessions_clear_tab_vault_share() RETURNS trigger AS $$
BEGIN
  IF NEW.revoked_at IS NOT NULL THEN
    NEW.tab_vault_share := NULL;
  END IF;
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;
--> statement-breakpoint
CREATE TRIGGER sessions_clear_tab_vault_share BEFORE INSERT OR UPDATE ON "sessions"
  FOR EACH ROW EXECUTE FUNCTION veil_sessions_clear_tab_vault_share();

export * from "./schema";
export { bytea, toBytes } from "./bytes";
export {
  openDatabase,
  defaultMigrationsFolder,
  type OpenedDatabase,
  type OpenDatabaseOptions,
  type VeilDatabase,
} from "./open-database";
export {
  appendAudit,
  verifyAuditChain,
  pruneAudit,
  queryAudit,
  auditRowHash,
  canonicalAuditContent,
  type AuditEventInput,
  type AuditOutcome,
  type AuditQuery,
  type AuditRow,
  type AuditVerification,
} from "./audit";

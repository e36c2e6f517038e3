"use client";
import { useCallback, useEffect, useState } from "react";
import { ZRoleSchema, type TInviteCreateResponse, type TRole, type TUserSummary } from "@veil/protocol";
import { Alert } from "../components/alert";
import { Field } from "../components/field";
import { Shell } from "../components/shell";
import { useStepUp } from "../components/step-up";
import * as api from "../endpoints";
import { useTask } from "../hooks/use-task";

const ROLES: readonly TRole[] = ZRoleSchema.options;
const ROLE_HELP: Record<TRole, string> = {
  admin: "everything, including users and settings",
  operator: "manages devices",
  auditor: "reads the audit log",
  viewer: "read-only",
};

function RoleRow({ user, self, onChanged }: { user: TUserSummary; self: boolean; onChanged: () => void }) {
  const withStepUp = useStepUp();
  const [role, setRole] = useState<TRole>(user.role);
  const task = useTask();
  const selectId = `role-${user.id}`;
  return (
    <tr data-user-id={user.id}>
      <td>
        {user.email} {self ? <span className="badge">you</span> : null}
      </td>
      <td>
        <label htmlFor={selectId} className="visually-hidden">
          Role of {user.email}
        </label>
        <select
          id={selectId}
          value={role}
          onChange={(e) => setRole(ZRoleSchema.parse(e.target.value))}
          disabled={task.running}
        >
          {ROLES.map((r) => (
            <option key={r} value={r}>
              {r}
            </option>
          ))}
        </select>{" "}
        <button
          type="button"
          disabled={task.running || role === user.role}
          onClick={() =>
            void task.run(() => withStepUp(() => api.changeRole(user.id, role))).then((r) => r && onChanged())
          }
        >
          Change
        </button>
        {task.error ? <Alert>{task.error}</Alert> : null}
      </td>
      <td>{user.totpEnabled ? "on" : "off"}</td>
      <td>{new Date(user.createdAt).toLocaleDateString()}</td>
    </tr>
  );
}

function InviteForm() {
  const withStepUp = useStepUp();
  const [email, setEmail] = useState("");
  const [role, setRole] = useState<TRole>("viewer");
  const [invite, setInvite] = useState<TInviteCreateResponse | null>(null);
  const task = useTask();
  const link = invite ? `${window.location.origin}/signup#invite=${invite.token}` : "";
  return (
    <section className="card" aria-labelledby="invite-title">
      <h2 id="invite-title">Invite someone</h2>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          setInvite(null);
          const trimmed = email.trim();
          void task
            .run(() => withStepUp(() => api.createInvite({ role, ...(trimmed ? { email: trimmed } : {}) })))
            .then((r) => r && setInvite(r));
        }}
      >
        <Field
          label="E-mail (optional)"
          type="email"
          name="invite-email"
          value={email}
          onChange={(e) => setEmail(e.target.value)}
          hint="If given, only this address can use the invitation."
        />
        <div className="field">
          <label htmlFor="invite-role">Role</label>
          <select id="invite-role" value={role} onChange={(e) => setRole(ZRoleSchema.parse(e.target.value))}>
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {r} — {ROLE_HELP[r]}
              </option>
            ))}
          </select>
        </div>
        <Alert>{task.error}</Alert>
        <div className="actions">
          <button type="submit" className="primary" disabled={task.running}>
            Create invitation
          </button>
        </div>
      </form>
      {invite ? (
        <div className="alert alert-success" role="status">
          <p>
            Send this link to the person you invite. It works once, until {new Date(invite.expiresAt).toLocaleString()},
            and is shown only now. The code after <code>#</code> never reaches a server log.
          </p>
          <p>
            <code className="wrap" data-testid="invite-link">
              {link}
            </code>
          </p>
          <button type="button" onClick={() => void navigator.clipboard.writeText(link)}>
            Copy link
          </button>
        </div>
      ) : null}
    </section>
  );
}

function UsersTable({ selfId }: { selfId: string }) {
  const [users, setUsers] = useState<readonly TUserSummary[] | null>(null);
  const task = useTask();
  const load = useCallback(() => task.run(api.listUsers).then((r) => r && setUsers(r.users)), [task.run]);
  useEffect(() => {
    void load();
  }, [load]);
  return (
    <section className="card" aria-labelledby="users-title">
      <h2 id="users-title">Users</h2>
      <Alert>{task.error}</Alert>
      {users === null ? (
        <p className="muted">Loading…</p>
      ) : (
        <table data-testid="users">
          <thead>
            <tr>
              <th scope="col">E-mail</th>
              <th scope="col">Role</th>
              <th scope="col">Two-factor</th>
              <th scope="col">Created</th>
            </tr>
          </thead>
          <tbody>
            {users.map((u) => (
              <RoleRow key={`${u.id}-${u.role}`} user={u} self={u.id === selfId} onChanged={() => void load()} />
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

export function UsersView() {
  return (
    <Shell roles={["admin"]}>
      {({ me }) => (
        <>
          <h1>Users and roles</h1>
          <UsersTable selfId={me.user.id} />
          <InviteForm />
        </>
      )}
    </Shell>
  );
}

// Admin (shown to admins only; the server refuses everyone else): users
// (create with a password, a role and a team; change role or team;
// delete), teams (create with namespaces, change them, add and remove
// members, delete) and API tokens (create, the secret shown once; list
// without secrets; revoke). Everything goes through the REST API.
import { FormEvent, ReactNode, useEffect, useState } from 'react';
import { Me, Role, api } from '../api';
import { time } from '../format';

interface User {
  name: string;
  role: Role;
  team?: string | null;
}
interface Token {
  id: string;
  user: string;
  role: Role;
  created_ms: number;
}
type Teams = Record<string, string[]>;

const ROLES: Role[] = ['viewer', 'editor', 'admin'];
const splitNs = (s: string) =>
  s
    .split(/[\s,]+/)
    .map((x) => x.trim())
    .filter(Boolean);

/** A button asking once more before it acts. */
function Confirm({ label, onYes }: { label: string; onYes: () => void }) {
  const [armed, setArmed] = useState(false);
  return armed ? (
    <span className="confirm">
      <button className="small danger" onClick={() => (setArmed(false), onYes())}>
        Confirm {label.toLowerCase()}
      </button>
      <button className="small plain" onClick={() => setArmed(false)}>
        Cancel
      </button>
    </span>
  ) : (
    <button className="small plain" onClick={() => setArmed(true)}>
      {label}
    </button>
  );
}

function Card(props: { title: string; id: string; children: ReactNode }) {
  return (
    <section className="card" data-section={props.id}>
      <h2>{props.title}</h2>
      {props.children}
    </section>
  );
}

export function Admin({ me }: { me: Me }) {
  const [users, setUsers] = useState<User[]>([]);
  const [teams, setTeams] = useState<Teams>({});
  const [tokens, setTokens] = useState<Token[]>([]);
  const [err, setErr] = useState('');
  const [note, setNote] = useState('');
  const load = () =>
    Promise.all([
      api<{ users: User[] }>('/api/v1/users'),
      api<{ teams: Teams }>('/api/v1/teams'),
      api<{ tokens: Token[] }>('/api/v1/tokens'),
    ])
      .then(([u, t, k]) => (setUsers(u.users), setTeams(t.teams), setTokens(k.tokens)))
      .catch((e) => setErr(e.message));
  useEffect(() => {
    load();
  }, []);
  /** Runs a change, then reloads; its error is shown; whether it worked. */
  const act = (what: string, p: Promise<unknown>): Promise<boolean> =>
    p.then(
      () => (setErr(''), setNote(what), load(), true),
      (e) => (setNote(''), setErr(`${what}: ${e.message}`), false),
    );
  const changeUser = (name: string, change: Partial<User> & { password?: string }) =>
    act(`changed ${name}`, api(`/api/v1/users/${encodeURIComponent(name)}`, change, 'PUT'));
  if (me.role !== 'admin') return <div className="error">The admin page is for admins.</div>;
  return (
    <div className="page admin">
      {err && <div className="error">{err}</div>}
      {note && <div className="note">{note}</div>}
      <div className="admin-grid">
        <Users users={users} teams={teams} me={me} act={act} changeUser={changeUser} />
        <TeamsCard users={users} teams={teams} act={act} changeUser={changeUser} />
        <Tokens tokens={tokens} act={act} />
      </div>
    </div>
  );
}

type Act = (what: string, p: Promise<unknown>) => Promise<boolean>;
type ChangeUser = (name: string, change: Partial<User> & { password?: string }) => Promise<unknown>;

function TeamSelect(props: { teams: Teams; value: string; onChange: (t: string) => void; name?: string }) {
  return (
    <select name={props.name} value={props.value} onChange={(e) => props.onChange(e.target.value)}>
      <option value="">no team (sees all)</option>
      {Object.keys(props.teams).map((t) => (
        <option key={t} value={t}>
          {t}
        </option>
      ))}
    </select>
  );
}

function Users(props: { users: User[]; teams: Teams; me: Me; act: Act; changeUser: ChangeUser }) {
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [role, setRole] = useState<Role>('viewer');
  const [team, setTeam] = useState('');
  const create = (e: FormEvent) => {
    e.preventDefault();
    const body = { name, password, role, ...(team ? { team } : {}) };
    props.act(`created ${name}`, api('/api/v1/users', body)).then((ok) => ok && (setName(''), setPassword(''), setRole('viewer'), setTeam('')));
  };
  return (
    <Card title="Users" id="users">
      <table className="grid users">
        <thead>
          <tr>
            <th>name</th>
            <th>role</th>
            <th>team</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {props.users.map((u) => (
            <tr key={u.name} className="user" data-name={u.name}>
              <td>
                {u.name}
                {u.name === props.me.user && <span className="muted"> (you)</span>}
              </td>
              <td>
                <select name="role" value={u.role} onChange={(e) => props.changeUser(u.name, { role: e.target.value as Role })}>
                  {ROLES.map((r) => (
                    <option key={r}>{r}</option>
                  ))}
                </select>
              </td>
              <td>
                <TeamSelect name="team" teams={props.teams} value={u.team || ''} onChange={(t) => props.changeUser(u.name, { team: t || null })} />
              </td>
              <td>
                {u.name !== props.me.user && (
                  <Confirm label="Delete" onYes={() => props.act(`deleted ${u.name}`, api(`/api/v1/users/${encodeURIComponent(u.name)}`, undefined, 'DELETE'))} />
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <form className="inline-form new-user" onSubmit={create}>
        <input name="new-user" placeholder="user name" value={name} onChange={(e) => setName(e.target.value)} required />
        <input name="new-password" type="password" placeholder="password (8+ chars)" autoComplete="new-password" value={password} onChange={(e) => setPassword(e.target.value)} required minLength={8} />
        <select name="new-role" value={role} onChange={(e) => setRole(e.target.value as Role)}>
          {ROLES.map((r) => (
            <option key={r}>{r}</option>
          ))}
        </select>
        <TeamSelect name="new-team" teams={props.teams} value={team} onChange={setTeam} />
        <button type="submit">Create user</button>
      </form>
    </Card>
  );
}

function TeamRow(props: { name: string; ns: string[]; users: User[]; act: Act; changeUser: ChangeUser }) {
  const [ns, setNs] = useState(props.ns.join(', '));
  const [add, setAdd] = useState('');
  useEffect(() => setNs(props.ns.join(', ')), [props.ns.join(',')]);
  const members = props.users.filter((u) => u.team === props.name);
  const others = props.users.filter((u) => u.team !== props.name);
  const path = `/api/v1/teams/${encodeURIComponent(props.name)}`;
  return (
    <tr className="team" data-name={props.name}>
      <td>{props.name}</td>
      <td>
        <form className="inline-form" onSubmit={(e) => (e.preventDefault(), props.act(`namespaces of ${props.name} set`, api(path, { namespaces: splitNs(ns) }, 'PUT')))}>
          <input name="namespaces" value={ns} onChange={(e) => setNs(e.target.value)} />
          <button className="small" type="submit" disabled={ns === props.ns.join(', ')}>
            Save
          </button>
        </form>
      </td>
      <td className="wrap members">
        {members.map((u) => (
          <span key={u.name} className="chip" data-member={u.name}>
            {u.name}
            <button className="chip-x" title={`take ${u.name} out of ${props.name}`} onClick={() => props.changeUser(u.name, { team: null })}>
              ×
            </button>
          </span>
        ))}
        {others.length > 0 && (
          <select name="add-member" value={add} onChange={(e) => (setAdd(''), e.target.value && props.changeUser(e.target.value, { team: props.name }))}>
            <option value="">add a member…</option>
            {others.map((u) => (
              <option key={u.name} value={u.name}>
                {u.name}
              </option>
            ))}
          </select>
        )}
      </td>
      <td>
        <Confirm label="Delete" onYes={() => props.act(`deleted team ${props.name}`, api(path, undefined, 'DELETE'))} />
      </td>
    </tr>
  );
}

function TeamsCard(props: { users: User[]; teams: Teams; act: Act; changeUser: ChangeUser }) {
  const [name, setName] = useState('');
  const [ns, setNs] = useState('');
  const create = (e: FormEvent) => {
    e.preventDefault();
    props
      .act(`created team ${name}`, api(`/api/v1/teams/${encodeURIComponent(name)}`, { namespaces: splitNs(ns) }, 'PUT'))
      .then((ok) => ok && (setName(''), setNs('')));
  };
  return (
    <Card title="Teams" id="teams">
      <p className="muted">A team's users see only its Kubernetes namespaces (Explore, dashboards, topology, events).</p>
      <table className="grid teams">
        <thead>
          <tr>
            <th>team</th>
            <th>namespaces</th>
            <th>members</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {Object.entries(props.teams).map(([t, ns]) => (
            <TeamRow key={t} name={t} ns={ns} users={props.users} act={props.act} changeUser={props.changeUser} />
          ))}
        </tbody>
      </table>
      <form className="inline-form new-team" onSubmit={create}>
        <input name="new-team-name" placeholder="team name" value={name} onChange={(e) => setName(e.target.value)} required />
        <input name="new-team-namespaces" placeholder="namespaces: shop, shop-2" value={ns} onChange={(e) => setNs(e.target.value)} />
        <button type="submit">Create team</button>
      </form>
    </Card>
  );
}

function Tokens(props: { tokens: Token[]; act: Act }) {
  const [role, setRole] = useState<Role>('viewer');
  const [secret, setSecret] = useState<{ id: string; token: string } | null>(null);
  const create = () =>
    props.act(
      'token created',
      api<{ id: string; token: string }>('/api/v1/tokens', { role }).then((t) => setSecret({ id: t.id, token: t.token })),
    );
  return (
    <Card title="API tokens" id="tokens">
      <p className="muted">
        Send one as <code>Authorization: Bearer …</code>. Its secret is shown once, when it is made; the server keeps only a digest.
      </p>
      {secret && (
        <div className="secret" data-id={secret.id}>
          New token <b>{secret.id}</b>: <code className="token-secret">{secret.token}</code>
          <button className="small plain" onClick={() => navigator.clipboard?.writeText(secret.token)}>
            Copy
          </button>
          <button className="small plain" onClick={() => setSecret(null)}>
            Done
          </button>
          <div className="muted">Copy it now: it is not shown again.</div>
        </div>
      )}
      <table className="grid tokens">
        <thead>
          <tr>
            <th>id</th>
            <th>user</th>
            <th>role</th>
            <th>created</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {props.tokens.map((t) => (
            <tr key={t.id} className="token" data-id={t.id}>
              <td>
                <code>{t.id}</code>
              </td>
              <td>{t.user}</td>
              <td>{t.role}</td>
              <td>{time(t.created_ms)}</td>
              <td>
                <Confirm label="Revoke" onYes={() => (secret?.id === t.id && setSecret(null), props.act(`revoked ${t.id}`, api(`/api/v1/tokens/${t.id}`, undefined, 'DELETE')))} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <div className="inline-form">
        <select name="token-role" value={role} onChange={(e) => setRole(e.target.value as Role)}>
          {ROLES.map((r) => (
            <option key={r}>{r}</option>
          ))}
        </select>
        <button onClick={create}>Create token</button>
      </div>
    </Card>
  );
}

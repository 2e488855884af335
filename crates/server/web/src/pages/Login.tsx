import { FormEvent, useState } from 'react';
import { api, Me } from '../api';

export function Login(props: { onLogin: (m: Me) => void }) {
  const [user, setUser] = useState('');
  const [password, setPassword] = useState('');
  const [err, setErr] = useState('');
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setErr('');
    try {
      props.onLogin(await api<Me>('/api/v1/login', { user, password }));
    } catch (x) {
      setErr((x as Error).message);
    }
  };
  return (
    <div className="login">
      <form onSubmit={submit}>
        <h1>sonde</h1>
        <label>
          User
          <input name="user" autoComplete="username" value={user} onChange={(e) => setUser(e.target.value)} autoFocus />
        </label>
        <label>
          Password
          <input
            name="password"
            type="password"
            autoComplete="current-password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        </label>
        <button type="submit">Log in</button>
        {err && <div className="error">{err}</div>}
      </form>
    </div>
  );
}

import { StrictMode, useEffect, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { Me, api, setUnauthorizedHandler } from './api';
import { Admin } from './pages/Admin';
import { Alerts } from './pages/Alerts';
import { Captures } from './pages/Captures';
import { Dashboard } from './pages/Dashboard';
import { Events } from './pages/Events';
import { Explore } from './pages/Explore';
import { Hosts } from './pages/Hosts';
import { Live } from './pages/Live';
import { Login } from './pages/Login';
import { Topology } from './pages/Topology';
import { useRoute } from './route';
import './style.css';

const PAGES: [string, string][] = [
  ['explore', 'Explore'],
  ['dashboard', 'Dashboard'],
  ['topology', 'Topology'],
  ['events', 'Events'],
  ['hosts', 'Hosts'],
  ['alerts', 'Alerts'],
  ['captures', 'Captures'],
];

function App() {
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  const route = useRoute();
  useEffect(() => {
    setUnauthorizedHandler(() => setMe(null));
    api<Me>('/api/v1/me')
      .then(setMe)
      .catch(() => setMe(null));
  }, []);
  if (me === undefined) return <div className="muted">…</div>;
  if (me === null) return <Login onLogin={setMe} />;
  // the admin page only for admins (the server refuses the others)
  const pages: [string, string][] = me.role === 'admin' ? [...PAGES, ['admin', 'Admin']] : PAGES;
  const logout = async () => {
    await api('/api/v1/logout', {}).catch(() => {});
    setMe(null);
  };
  return (
    <div className="app">
      <header>
        <span className="brand">sonde</span>
        <nav>
          {pages.map(([id, name]) => (
            <a key={id} href={`#/${id}`} className={route.page === id ? 'active' : ''}>
              {name}
            </a>
          ))}
        </nav>
        <span className="me">
          {me.user} <span className="badge">{me.role}</span>
          {me.team && (
            <span className="badge team" title={`sees namespaces: ${(me.namespaces || []).join(', ')}`}>
              team {me.team}
            </span>
          )}
          <button onClick={logout}>Log out</button>
        </span>
      </header>
      <main>
        {route.page === 'explore' && <Explore route={route} />}
        {route.page === 'dashboard' && <Dashboard route={route} me={me} />}
        {route.page === 'events' && <Events route={route} />}
        {route.page === 'topology' && <Topology route={route} />}
        {route.page === 'hosts' && <Hosts />}
        {route.page === 'alerts' && <Alerts me={me} />}
        {route.page === 'captures' && <Captures route={route} />}
        {route.page === 'live' && <Live route={route} />}
        {route.page === 'admin' && me.role === 'admin' && <Admin me={me} />}
        {!pages.some(([id]) => id === route.page) && route.page !== 'live' && <div className="error">no page '{route.page}'</div>}
      </main>
    </div>
  );
}

createRoot(document.getElementById('root') as HTMLElement).render(
  <StrictMode>
    <App />
  </StrictMode>,
);

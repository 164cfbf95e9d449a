// The console's shell: sign-in gate, navigation, theme (light/dark, following the system until
// chosen), and the client-side routes under /console (the server answers every one with index.html).
import { StrictMode, useEffect, useState, useSyncExternalStore } from 'react';
import { createRoot } from 'react-dom/client';
import { Link, Route, Router, Switch, useLocation } from 'wouter';
import { apiKey, onAuthChange, signOut } from './api.ts';
import { SignIn } from './pages/SignIn.tsx';
import { SessionsPage } from './pages/Sessions.tsx';
import { SessionPage } from './pages/Session.tsx';
import { AgentsPage, AgentPage } from './pages/Agents.tsx';
import { EnvironmentsPage, FilesPage, VaultsPage } from './pages/Resources.tsx';
import './styles.css';

type Theme = 'light' | 'dark' | 'system';
const THEME_KEY = 'hangar.console.theme';

function useTheme(): [Theme, (t: Theme) => void] {
  const [theme, setTheme] = useState<Theme>(() => (localStorage.getItem(THEME_KEY) as Theme | null) ?? 'system');
  useEffect(() => {
    if (theme === 'system') delete document.documentElement.dataset.theme;
    else document.documentElement.dataset.theme = theme;
    localStorage.setItem(THEME_KEY, theme);
  }, [theme]);
  return [theme, setTheme];
}

function NavLink({ href, children }: { href: string; children: React.ReactNode }) {
  const [location] = useLocation();
  const active = location === href || location.startsWith(`${href}/`);
  return <Link href={href} className={active ? 'active' : ''} aria-current={active ? 'page' : undefined}>{children}</Link>;
}

function Shell() {
  const key = useSyncExternalStore(onAuthChange, apiKey);
  const [theme, setTheme] = useTheme();
  const [menu, setMenu] = useState(false);
  const [location] = useLocation();
  useEffect(() => setMenu(false), [location]);
  if (!key) return <SignIn />;
  const next: Record<Theme, Theme> = { system: 'dark', dark: 'light', light: 'system' };
  return (
    <div className="app">
      <header className="top">
        <Link href="/sessions" className="brand">Hangar</Link>
        <button className="menu-button" aria-expanded={menu} aria-controls="nav" onClick={() => setMenu(!menu)}>Menu</button>
        <nav id="nav" className={menu ? 'open' : ''} aria-label="main">
          <NavLink href="/sessions">Sessions</NavLink>
          <NavLink href="/agents">Agents</NavLink>
          <NavLink href="/environments">Environments</NavLink>
          <NavLink href="/vaults">Vaults</NavLink>
          <NavLink href="/files">Files</NavLink>
        </nav>
        <div className="top-actions">
          <button className="ghost" onClick={() => setTheme(next[theme])} title="Theme: system, dark or light" aria-label={`theme: ${theme}`}>{theme === 'system' ? 'Auto' : theme === 'dark' ? 'Dark' : 'Light'}</button>
          <button className="ghost" onClick={signOut}>Sign out</button>
        </div>
      </header>
      <main>
        <Switch>
          <Route path="/sessions/:id" component={SessionPage} />
          <Route path="/sessions" component={SessionsPage} />
          <Route path="/agents/:id" component={AgentPage} />
          <Route path="/agents" component={AgentsPage} />
          <Route path="/environments" component={EnvironmentsPage} />
          <Route path="/vaults" component={VaultsPage} />
          <Route path="/files" component={FilesPage} />
          <Route path="/"><Redirect to="/sessions" /></Route>
          <Route><p className="empty">No such page. <Link href="/sessions">Sessions</Link></p></Route>
        </Switch>
      </main>
    </div>
  );
}

function Redirect({ to }: { to: string }) {
  const [, navigate] = useLocation();
  useEffect(() => navigate(to, { replace: true }), [to, navigate]);
  return null;
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <Router base="/console">
      <Shell />
    </Router>
  </StrictMode>,
);

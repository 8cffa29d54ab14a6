/*
 * Boot: read /config.json, create the API client (supabase-js for sign-in,
 * GraphQL for everything else), render the app. Everything the page loads
 * comes from this server; the bundle is built by server/web/build.ts.
 */
import { render } from 'preact';
import { createApi } from './api.ts';
import { App } from './app.tsx';
import { interceptLinks } from './router.ts';
import './styles.css';

const root = document.getElementById('app')!;
createApi().then(
  (api) => {
    interceptLinks(root);
    root.textContent = '';
    render(<App api={api} />, root);
  },
  (e: Error) => {
    root.innerHTML = '';
    const p = document.createElement('p');
    p.className = 'boot error';
    p.setAttribute('role', 'alert');
    p.textContent = `Heimdex could not start: ${e.message}`;
    root.append(p);
  },
);

/*
 * Boot: render the app at once; the configuration is in the page itself and
 * supabase-js loads when first needed (see api.ts). Everything the page loads
 * comes from this server; the bundle is built by server/web/build.ts.
 */
import { render } from 'preact';
import { createApi } from './api.ts';
import { App } from './app.tsx';
import { interceptLinks } from './router.ts';
import './styles.css';

const api = createApi();
const root = document.getElementById('app')!;
interceptLinks(root);
root.textContent = '';
render(<App api={api} />, root);

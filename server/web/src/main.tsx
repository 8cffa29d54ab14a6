/*
 * Boot: render the app at once; the API client loads /config.json and
 * supabase-js in the background (see api.ts). Everything the page loads comes
 * from this server; the bundle is built by server/web/build.ts.
 */
import { render } from 'preact';
import { createApi } from './api.ts';
import { App } from './app.tsx';
import { interceptLinks } from './router.ts';
import './styles.css';

const root = document.getElementById('app')!;
interceptLinks(root);
root.textContent = '';
render(<App api={createApi()} />, root);

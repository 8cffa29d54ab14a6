/*
 * Sign up / log in with email and password through supabase-js, against
 * Heimdex's /auth/v1 (local mode) or the Supabase project.
 */
import { useState } from 'preact/hooks';
import { useApi } from '../app.tsx';

export function Login() {
  const api = useApi();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const [info, setInfo] = useState('');

  const run = async (form: HTMLFormElement, mode: 'login' | 'signup') => {
    const data = new FormData(form);
    const email = String(data.get('email') ?? '').trim();
    const password = String(data.get('password') ?? '');
    setError('');
    setInfo('');
    if (!email || !password) return setError('Enter your email and a password.');
    setBusy(true);
    try {
      const auth = await api.auth();
      if (mode === 'login') {
        const { error } = await auth.signInWithPassword({ email, password });
        if (error) setError(error.message);
      } else {
        const { data, error } = await auth.signUp({ email, password });
        if (error) setError(error.message);
        else if (!data.session) setInfo('Check your email to confirm the account, then log in.');
      }
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="auth">
      <h1 class="brand">Heimdex</h1>
      <p class="lede">Upload videos, then find the moment where something is said, shown or written on screen.</p>
      <form
        class="card"
        onSubmit={(e) => {
          e.preventDefault();
          void run(e.currentTarget, 'login');
        }}
      >
        <label>
          Email
          <input name="email" type="email" autocomplete="username" required />
        </label>
        <label>
          Password
          <input name="password" type="password" autocomplete="current-password" minLength={8} required />
        </label>
        <p class="hint">At least 8 characters. New here? Choose a password and sign up.</p>
        <div class="row">
          <button type="submit" disabled={busy}>
            Log in
          </button>
          <button
            type="button"
            class="secondary"
            disabled={busy}
            onClick={(e) => void run((e.currentTarget as HTMLButtonElement).form!, 'signup')}
          >
            Sign up
          </button>
        </div>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        {info && <p role="status">{info}</p>}
      </form>
    </main>
  );
}

import { useEffect, useId, useRef, useState, type FormEvent } from "react";
import { friendlyError } from "../api/errors";
import { useApi } from "../context";
import { href, link } from "../router";
import { EmailField } from "./forms";

interface Props {
  mode: "sign-in" | "register";
  notice: string | null;
  email: string;
  justRegistered?: boolean;
  onSignedIn: () => void;
  /** After a registration: the app (not the URL, which anyone can write) carries the
   * address on to the sign-in screen's notice. */
  onRegistered?: (email: string) => void;
}

export function AuthScreen({
  mode,
  notice,
  email: initialEmail,
  justRegistered = false,
  onSignedIn,
  onRegistered,
}: Props) {
  const api = useApi();
  const id = useId();
  const [email, setEmail] = useState(initialEmail);
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  // Set once the password was right for an account with two-step sign-in on.
  const [mfaToken, setMfaToken] = useState<string | null>(null);
  const [code, setCode] = useState("");
  const codeInput = useRef<HTMLInputElement>(null);
  const inFlight = useRef(false);
  const registering = mode === "register";

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    if (inFlight.current) return;
    inFlight.current = true;
    setBusy(true);
    setError(null);
    try {
      if (registering) {
        await api.register(email.trim(), password);
        onRegistered?.(email.trim());
        return;
      }
      if (mfaToken) {
        await api.completeMfaLogin(mfaToken, code.trim());
        onSignedIn();
        return;
      }
      const challenge = await api.login(email.trim(), password);
      if (challenge) {
        setMfaToken(challenge.mfaToken);
        return;
      }
      onSignedIn();
    } catch (err) {
      setError(friendlyError(err));
    } finally {
      inFlight.current = false;
      setBusy(false);
    }
  }

  useEffect(() => {
    if (mfaToken) codeInput.current?.focus();
  }, [mfaToken]);

  if (mfaToken)
    return (
      <main className="card narrow">
        <h1>Two-step sign-in</h1>
        <form onSubmit={submit} aria-label="Enter your sign-in code">
          <label htmlFor={`${id}-code`}>Code from your authenticator app, or a recovery code</label>
          <input
            id={`${id}-code`}
            ref={codeInput}
            type="text"
            autoComplete="one-time-code"
            autoCapitalize="none"
            spellCheck={false}
            required
            value={code}
            onChange={(e) => setCode(e.target.value)}
          />
          {error && (
            <p className="note error" role="alert">
              {error}
            </p>
          )}
          <button type="submit" className="primary" aria-disabled={busy}>
            {busy ? "Please wait…" : "Verify"}
          </button>
        </form>
      </main>
    );

  return (
    <main className="card narrow">
      <h1>{registering ? "Create your account" : "Sign in"}</h1>
      {justRegistered && (
        <p className="note success" role="status">
          Account created. We sent a verification link to {initialEmail}. Sign in to continue.
        </p>
      )}
      {notice && (
        <p className="note" role="status">
          {notice}
        </p>
      )}
      <form onSubmit={submit} aria-label={registering ? "Create account" : "Sign in"}>
        <EmailField id={`${id}-email`} label="Email" value={email} onValue={setEmail} />
        <label htmlFor={`${id}-password`}>Password</label>
        <input
          id={`${id}-password`}
          type="password"
          autoComplete={registering ? "new-password" : "current-password"}
          required
          minLength={registering ? 8 : undefined}
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          aria-describedby={registering ? `${id}-hint` : undefined}
        />
        {registering && (
          <p className="hint" id={`${id}-hint`}>
            At least 8 characters.
          </p>
        )}
        {error && (
          <p className="note error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" className="primary" aria-disabled={busy}>
          {busy ? "Please wait…" : registering ? "Create account" : "Sign in"}
        </button>
      </form>
      <p className="switch">
        {registering ? (
          <>
            Already have an account?{" "}
            <a href={href("/sign-in")} onClick={link("/sign-in")}>
              Sign in
            </a>
          </>
        ) : (
          <>
            <a href={href("/forgot-password")} onClick={link("/forgot-password")}>
              Forgot your password?
            </a>
            <br />
            New to Tollgate?{" "}
            <a href={href("/register")} onClick={link("/register")}>
              Create an account
            </a>
          </>
        )}
      </p>
    </main>
  );
}

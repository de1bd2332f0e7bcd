import { useId, useState } from "react";
import { useApi } from "../context";
import { href, link } from "../router";
import { EmailField, FormError, NewPasswordField, Submit, useSubmit } from "./forms";

/** Asks for a reset link; the answer is the same whether or not an account has the address. */
export function ForgotPasswordScreen() {
  const api = useApi();
  const id = useId();
  const [email, setEmail] = useState("");
  const [sent, setSent] = useState(false);
  const { submit, busy, error } = useSubmit(async () => {
    await api.requestPasswordReset(email.trim());
    setSent(true);
  });

  return (
    <main className="card narrow">
      <h1>Reset your password</h1>
      {sent ? (
        <p className="note success" role="status">
          If an account uses {email.trim()}, we sent it a link to choose a new password. The link
          works once, for 30 minutes.
        </p>
      ) : (
        <form onSubmit={submit} aria-label="Ask for a reset link">
          <EmailField id={`${id}-email`} label="Email" value={email} onValue={setEmail} />
          <FormError error={error} />
          <Submit busy={busy} label="Send me a reset link" />
        </form>
      )}
      <p className="switch">
        <a href={href("/sign-in")} onClick={link("/sign-in")}>
          Back to sign in
        </a>
      </p>
    </main>
  );
}

/** Where a reset link leads: choose the new password. */
export function ResetPasswordScreen({ token }: { token: string }) {
  const api = useApi();
  const id = useId();
  const [password, setPassword] = useState("");
  const [done, setDone] = useState(false);
  const { submit, busy, error } = useSubmit(async () => {
    await api.confirmPasswordReset(token, password);
    setDone(true);
  });

  return (
    <main className="card narrow">
      <h1>Choose a new password</h1>
      {done ? (
        <p className="note success" role="status">
          Your password is changed and every session was signed out. Sign in with the new
          password.
        </p>
      ) : !token ? (
        <p className="note error" role="alert">
          This link has no reset token.
        </p>
      ) : (
        <form onSubmit={submit} aria-label="Set a new password">
          <NewPasswordField id={`${id}-password`} value={password} onValue={setPassword} />
          <FormError error={error} />
          <Submit busy={busy} label="Set new password" />
        </form>
      )}
      <p className="switch">
        <a href={href("/sign-in")} onClick={link("/sign-in")}>
          Go to sign in
        </a>
      </p>
    </main>
  );
}

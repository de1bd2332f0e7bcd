import { useEffect, useId, useRef, useState } from "react";
import { friendlyError } from "../api/errors";
import type { Me, MfaEnrollment } from "../api/types";
import { useApi } from "../context";
import { href, link } from "../router";
import { EmailField, Field, FormError, NewPasswordField, Submit, useSubmit } from "./forms";

/** The signed-in person's security settings: password, email address, two-step sign-in. */
export function AccountScreen() {
  const api = useApi();
  const [me, setMe] = useState<Me | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [reads, setReads] = useState(0);

  useEffect(() => {
    let live = true;
    api.me().then(
      (m) => live && setMe(m),
      (err: unknown) => live && setError(friendlyError(err)),
    );
    return () => {
      live = false;
    };
  }, [api, reads]);

  return (
    <main className="card">
      <h1>Account security</h1>
      <p>
        <a href={href("/")} onClick={link("/")}>
          Back to your wallet
        </a>
      </p>
      {error && (
        <p className="note error" role="alert">
          {error}
        </p>
      )}
      {me && <p>Signed in as {me.email}.</p>}
      <ChangePassword />
      <ChangeEmail />
      {me && <TwoStep enabled={Boolean(me.mfaEnabled)} onChange={() => setReads((n) => n + 1)} />}
    </main>
  );
}

function ChangePassword() {
  const api = useApi();
  const id = useId();
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [done, setDone] = useState(false);
  const { submit, busy, error } = useSubmit(async () => {
    setDone(false);
    await api.changePassword(current, next);
    setCurrent("");
    setNext("");
    setDone(true);
  });
  return (
    <section aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>Change password</h2>
      <form onSubmit={submit} aria-label="Change password">
        <Field
          id={`${id}-current`}
          label="Current password"
          type="password"
          autoComplete="current-password"
          required
          value={current}
          onValue={setCurrent}
        />
        <NewPasswordField id={`${id}-new`} value={next} onValue={setNext} />
        <FormError error={error} />
        {done && (
          <p className="note success" role="status">
            Password changed. Your other sessions were signed out.
          </p>
        )}
        <Submit busy={busy} label="Change password" />
      </form>
    </section>
  );
}

function ChangeEmail() {
  const api = useApi();
  const id = useId();
  const [password, setPassword] = useState("");
  const [email, setEmail] = useState("");
  const [sentTo, setSentTo] = useState<string | null>(null);
  const { submit, busy, error } = useSubmit(async () => {
    setSentTo(null);
    await api.changeEmail(password, email.trim());
    setPassword("");
    setSentTo(email.trim());
  });
  return (
    <section aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>Change email address</h2>
      <form onSubmit={submit} aria-label="Change email address">
        <EmailField id={`${id}-email`} label="New email address" value={email} onValue={setEmail} />
        <Field
          id={`${id}-password`}
          label="Password"
          type="password"
          autoComplete="current-password"
          required
          value={password}
          onValue={setPassword}
        />
        <FormError error={error} />
        {sentTo && (
          <p className="note success" role="status">
            We sent a link to {sentTo}. Your address changes when you open it.
          </p>
        )}
        <Submit busy={busy} label="Send confirmation link" />
      </form>
    </section>
  );
}

function TwoStep({ enabled, onChange }: { enabled: boolean; onChange: () => void }) {
  const api = useApi();
  const id = useId();
  const [enrollment, setEnrollment] = useState<MfaEnrollment | null>(null);
  const [codes, setCodes] = useState<string[] | null>(null);
  const [code, setCode] = useState("");
  const [password, setPassword] = useState("");
  const codeInput = useRef<HTMLInputElement>(null);
  const codesList = useRef<HTMLElement>(null);

  const start = useSubmit(async () => {
    setCodes(null);
    setEnrollment(await api.enrollMfa());
  });
  const confirm = useSubmit(async () => {
    const result = await api.confirmMfa(code.trim());
    setEnrollment(null);
    setCode("");
    setCodes(result.recoveryCodes);
    onChange();
  });
  const disable = useSubmit(async () => {
    await api.disableMfa(password, code.trim());
    setPassword("");
    setCode("");
    onChange();
  });

  // The next thing to do takes the focus: the code field once the QR code is shown, the
  // recovery codes once they are.
  useEffect(() => {
    if (enrollment) codeInput.current?.focus();
  }, [enrollment]);
  useEffect(() => {
    if (codes) codesList.current?.focus();
  }, [codes]);

  return (
    <section aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>Two-step sign-in</h2>
      <p role="status">
        Two-step sign-in is <strong>{enabled ? "on" : "off"}</strong>.
      </p>
      {codes && (
        <section className="note success" aria-labelledby={`${id}-codes`} tabIndex={-1} ref={codesList}>
          <h3 id={`${id}-codes`}>Your recovery codes</h3>
          <p>Each works once instead of a code from the app. Keep them safe: they are shown only now.</p>
          <ul className="recovery-codes">
            {codes.map((c) => (
              <li key={c}>
                <code>{c}</code>
              </li>
            ))}
          </ul>
        </section>
      )}
      {!enabled && !enrollment && (
        <form onSubmit={start.submit} aria-label="Turn on two-step sign-in">
          <FormError error={start.error} />
          <Submit busy={start.busy} label="Set up two-step sign-in" />
        </form>
      )}
      {!enabled && enrollment && (
        <form onSubmit={confirm.submit} aria-label="Confirm two-step sign-in">
          <p>Scan this code with an authenticator app, or type the key into it.</p>
          <img
            className="qr"
            src={enrollment.qrCode}
            width={200}
            height={200}
            alt="QR code of your authenticator key (the key is also written below)"
          />
          <p>
            Key: <code className="secret">{enrollment.secret}</code>
          </p>
          <Field
            id={`${id}-confirm-code`}
            ref={codeInput}
            label="Code from the app"
            type="text"
            inputMode="numeric"
            autoComplete="one-time-code"
            pattern="[0-9 ]*"
            required
            value={code}
            onValue={setCode}
          />
          <FormError error={confirm.error} />
          <Submit busy={confirm.busy} label="Turn on" />
        </form>
      )}
      {enabled && (
        <form onSubmit={disable.submit} aria-label="Turn off two-step sign-in">
          <Field
            id={`${id}-off-password`}
            label="Password"
            type="password"
            autoComplete="current-password"
            required
            value={password}
            onValue={setPassword}
          />
          <Field
            id={`${id}-off-code`}
            label="Code from the app, or a recovery code"
            type="text"
            autoComplete="one-time-code"
            required
            value={code}
            onValue={setCode}
          />
          <FormError error={disable.error} />
          <Submit busy={disable.busy} label="Turn off two-step sign-in" primary={false} />
        </form>
      )}
    </section>
  );
}

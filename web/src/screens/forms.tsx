// The pieces every form of the app shares: a labelled field, and a submit handler that sends
// one request at a time (double clicks included) and turns a failure into words.

import { useRef, useState, type FormEvent, type InputHTMLAttributes, type Ref } from "react";
import { friendlyError } from "../api/errors";

export function useSubmit(action: () => Promise<void>) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const inFlight = useRef(false);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    if (inFlight.current) return;
    inFlight.current = true;
    setBusy(true);
    setError(null);
    try {
      await action();
    } catch (err) {
      setError(friendlyError(err));
    } finally {
      inFlight.current = false;
      setBusy(false);
    }
  }

  return { submit, busy, error };
}

interface FieldProps extends InputHTMLAttributes<HTMLInputElement> {
  id: string;
  label: string;
  hint?: string;
  value: string;
  onValue: (value: string) => void;
  ref?: Ref<HTMLInputElement>;
}

/** A label, its input and an optional hint the input is described by. */
export function Field({ id, label, hint, value, onValue, ref, ...input }: FieldProps) {
  return (
    <>
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        ref={ref}
        value={value}
        onChange={(e) => onValue(e.target.value)}
        aria-describedby={hint ? `${id}-hint` : undefined}
        {...input}
      />
      {hint && (
        <p className="hint" id={`${id}-hint`}>
          {hint}
        </p>
      )}
    </>
  );
}

export function FormError({ error }: { error: string | null }) {
  return error ? (
    <p className="note error" role="alert">
      {error}
    </p>
  ) : null;
}

/** An email address. type="text": type="email" refuses non-ASCII before the @, which
 * accounts may have; inputMode still brings up the email keyboard. */
export function EmailField(props: { id: string; label: string; value: string; onValue: (v: string) => void }) {
  return (
    <Field
      type="text"
      inputMode="email"
      autoCapitalize="none"
      spellCheck={false}
      autoComplete="email"
      required
      {...props}
    />
  );
}

/** A new password, under registration's rule (the server checks the byte limit too). */
export function NewPasswordField(props: { id: string; value: string; onValue: (v: string) => void }) {
  return (
    <Field
      label="New password"
      hint="At least 8 characters."
      type="password"
      autoComplete="new-password"
      required
      minLength={8}
      {...props}
    />
  );
}

/** The label and submit button of a form, "Please wait…" while it is sent. */
export function Submit({ busy, label, primary = true }: { busy: boolean; label: string; primary?: boolean }) {
  return (
    <button type="submit" className={primary ? "primary" : undefined} aria-disabled={busy}>
      {busy ? "Please wait…" : label}
    </button>
  );
}

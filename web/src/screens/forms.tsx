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

export const PASSWORD_HINT = "At least 8 characters.";

import { useId, useRef, useState, type FormEvent } from "react";
import { friendlyError } from "../api/errors";
import type { MoneyResponse } from "../api/types";
import { SubmissionKey } from "../idempotency";
import { AmountInputError, minorToInput, moneyError, parseWalletAmount } from "../money";

interface Props {
  title: string;
  amountLabel: string;
  submitLabel: string;
  currency: string;
  withDescription?: boolean;
  onSubmit: (amount: bigint, description: string, idempotencyKey: string) => Promise<MoneyResponse>;
  onDone: (result: MoneyResponse) => void;
  describe: (result: MoneyResponse) => string;
}

/** A top-up or charge form: one Idempotency-Key per submission, ignored double submits. */
export function MoneyForm(props: Props) {
  const { title, amountLabel, submitLabel, currency, withDescription = false } = props;
  const id = useId();
  const [amount, setAmount] = useState("");
  const [description, setDescription] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const inFlight = useRef(false);
  const submission = useRef(new SubmissionKey());
  const placeholder = minorToInput(0n, currency);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    if (inFlight.current) return; // a double click while the first request is on its way
    let minor: bigint;
    try {
      minor = parseWalletAmount(amount, currency);
    } catch (err) {
      setDone(null);
      setError(err instanceof AmountInputError ? err.message : friendlyError(err));
      return;
    }
    const text = description.trim();
    const key = submission.current.forRequest(`${minor}|${text}`);
    inFlight.current = true;
    setBusy(true);
    setError(null);
    setDone(null);
    try {
      const result = await props.onSubmit(minor, text, key);
      submission.current.settle(key);
      props.onDone(result);
      setDone(props.describe(result));
      setAmount("");
      setDescription("");
    } catch (err) {
      submission.current.settle(key, err);
      setError(moneyError(err, currency));
    } finally {
      inFlight.current = false;
      setBusy(false);
    }
  }

  return (
    <section className="card" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>{title}</h2>
      <form onSubmit={submit} aria-labelledby={`${id}-title`}>
        <label htmlFor={`${id}-amount`}>{amountLabel}</label>
        <div className="amount">
          <span className="currency" aria-hidden="true">
            {currency}
          </span>
          <input
            id={`${id}-amount`}
            type="text"
            inputMode="decimal"
            autoComplete="off"
            placeholder={placeholder}
            required
            value={amount}
            onChange={(e) => setAmount(e.target.value)}
          />
        </div>
        {withDescription && (
          <>
            <label htmlFor={`${id}-description`}>Description</label>
            <input
              id={`${id}-description`}
              type="text"
              maxLength={500}
              autoComplete="off"
              value={description}
              onChange={(e) => setDescription(e.target.value)}
            />
          </>
        )}
        {error && (
          <p className="note error" role="alert">
            {error}
          </p>
        )}
        {done && (
          <p className="note success" role="status">
            {done}
          </p>
        )}
        <button type="submit" className="primary" aria-disabled={busy}>
          {busy ? "Working…" : submitLabel}
        </button>
      </form>
    </section>
  );
}

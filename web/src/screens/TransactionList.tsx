import { useEffect, useId, useRef, useState, type FormEvent } from "react";
import { friendlyError } from "../api/errors";
import type { MoneyResponse, Transaction } from "../api/types";
import { useApi } from "../context";
import { SubmissionKey } from "../idempotency";
import { AmountInputError, formatMoney, minorToInput, moneyError, parseWalletAmount, toMinor } from "../money";

const KIND_LABEL: Record<string, string> = {
  TOP_UP: "Top-up",
  CHARGE: "Charge",
  REFUND: "Refund",
};

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

function when(createdAt: string | undefined): string {
  if (!createdAt) return "";
  const date = new Date(createdAt);
  return Number.isNaN(date.getTime()) ? "" : dateFormat.format(date);
}

interface Props {
  transactions: Transaction[];
  currency: string;
  onRefunded: (result: MoneyResponse) => void;
  /** A row to move the keyboard focus to (the first of a page just loaded). */
  focusRow?: string | null;
}

export function TransactionList({ transactions, currency, onRefunded, focusRow = null }: Props) {
  // The charge whose refund form is open (one at a time).
  const [refunding, setRefunding] = useState<string | null>(null);
  // One submission key per charge, outliving its refund form: after a refund whose outcome is
  // unknown (a lost answer), closing the form and refunding again must reuse the pending key,
  // or the server would apply the refund twice.
  const refundKeys = useRef(new Map<string, SubmissionKey>());
  const refundKeyFor = (chargeId: string): SubmissionKey => {
    let key = refundKeys.current.get(chargeId);
    if (key === undefined) {
      key = new SubmissionKey();
      refundKeys.current.set(chargeId, key);
    }
    return key;
  };
  if (transactions.length === 0) {
    return <p className="muted">No transactions yet. Top up to get started.</p>;
  }
  // What is left to refund per charge, from the refunds loaded so far (newest first, so a
  // charge's refunds are always listed before the charge itself).
  const refunded = new Map<string, bigint>();
  const byId = new Map(transactions.map((t) => [t.id, t]));
  for (const t of transactions) {
    if (t.kind === "REFUND" && t.refundOf) {
      refunded.set(t.refundOf, (refunded.get(t.refundOf) ?? 0n) + toMinor(t.amount));
    }
  }
  return (
    <div className="table-scroll">
      <table className="transactions" aria-labelledby="tx-title">
        <thead>
          <tr>
            <th scope="col" className="date">
              Date
            </th>
            <th scope="col">Description</th>
            <th scope="col">Type</th>
            <th scope="col" className="num">
              Amount
            </th>
            <th scope="col">
              <span className="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {transactions.map((t) => (
            <TransactionRow
              key={t.id}
              transaction={t}
              currency={t.currency || currency}
              original={t.refundOf ? byId.get(t.refundOf) : undefined}
              remaining={t.kind === "CHARGE" ? -toMinor(t.amount) - (refunded.get(t.id) ?? 0n) : 0n}
              refunding={refunding === t.id}
              focused={focusRow === t.id}
              refundKey={refundKeyFor}
              onRefundOpen={(open) => setRefunding(open ? t.id : null)}
              onRefunded={(result) => {
                // Close this charge's form only: a late answer must not close another one.
                setRefunding((open) => (open === t.id ? null : open));
                onRefunded(result);
              }}
            />
          ))}
        </tbody>
      </table>
    </div>
  );
}

interface RowProps {
  transaction: Transaction;
  currency: string;
  /** For a refund, the charge it refunds (when loaded). */
  original: Transaction | undefined;
  /** For a charge, what is left to refund. */
  remaining: bigint;
  refunding: boolean;
  /** Take the keyboard focus (once, when this becomes true). */
  focused: boolean;
  /** The submission key of a charge's refunds (kept by the list, not the form). */
  refundKey: (chargeId: string) => SubmissionKey;
  onRefundOpen: (open: boolean) => void;
  onRefunded: (result: MoneyResponse) => void;
}

function TransactionRow({
  transaction: t,
  currency,
  original,
  remaining,
  refunding,
  focused,
  refundKey,
  onRefundOpen,
  onRefunded,
}: RowProps) {
  const amount = toMinor(t.amount);
  const label =
    t.description ||
    (t.kind === "REFUND" && original?.description ? `Refund of ${original.description}` : (KIND_LABEL[t.kind] ?? ""));
  const open = refunding && remaining > 0n;
  // When the refund form closes (cancelled or done), focus goes back to this row's action
  // instead of falling to the page.
  const actionRef = useRef<HTMLButtonElement & HTMLSpanElement>(null);
  const wasOpen = useRef(false);
  useEffect(() => {
    if (wasOpen.current && !open) actionRef.current?.focus();
    wasOpen.current = open;
  }, [open]);
  const rowRef = useRef<HTMLTableRowElement>(null);
  useEffect(() => {
    if (focused) rowRef.current?.focus();
  }, [focused]);
  let action = null;
  if (t.kind === "CHARGE" && remaining <= 0n) {
    action = (
      <span className="muted" tabIndex={-1} ref={actionRef}>
        Refunded
      </span>
    );
  } else if (t.kind === "CHARGE" && !open) {
    action = (
      <button type="button" className="secondary small" ref={actionRef} onClick={() => onRefundOpen(true)}>
        Refund
      </button>
    );
  }
  return (
    <>
      <tr ref={rowRef} tabIndex={focused ? -1 : undefined}>
        <td className="date">{when(t.createdAt)}</td>
        <td>{label}</td>
        <td>
          <span className={`kind kind-${t.kind.toLowerCase()}`}>{KIND_LABEL[t.kind] ?? t.kind}</span>
        </td>
        <td className={`num ${amount < 0n ? "debit" : "credit"}`}>
          {formatMoney(amount, currency, { signed: true })}
        </td>
        <td className="actions">{action}</td>
      </tr>
      {open && (
        <tr className="refund-row">
          <td colSpan={5}>
            <RefundForm
              charge={t}
              submission={refundKey(t.id)}
              remaining={remaining}
              currency={currency}
              onClose={() => onRefundOpen(false)}
              onRefunded={onRefunded}
            />
          </td>
        </tr>
      )}
    </>
  );
}

interface RefundProps {
  charge: Transaction;
  submission: SubmissionKey;
  remaining: bigint;
  currency: string;
  onClose: () => void;
  onRefunded: (result: MoneyResponse) => void;
}

function RefundForm({ charge, submission, remaining, currency, onClose, onRefunded }: RefundProps) {
  const api = useApi();
  const id = useId();
  const [amount, setAmount] = useState(() => minorToInput(remaining, currency));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const inFlight = useRef(false);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    if (inFlight.current) return;
    let minor: bigint;
    try {
      minor = parseWalletAmount(amount, currency);
    } catch (err) {
      setError(err instanceof AmountInputError ? err.message : friendlyError(err));
      return;
    }
    const key = submission.forRequest(String(minor));
    inFlight.current = true;
    setBusy(true);
    setError(null);
    try {
      const result = await api.refund(charge.id, minor, key);
      submission.settle(key);
      onRefunded(result);
    } catch (err) {
      submission.settle(key, err);
      setError(moneyError(err, currency));
    } finally {
      inFlight.current = false;
      setBusy(false);
    }
  }

  const what = charge.description || "charge";
  return (
    <form className="refund" onSubmit={submit} aria-label={`Refund ${what}`}>
      <label htmlFor={`${id}-amount`}>
        Refund amount <span className="visually-hidden">in {currency}</span>
      </label>
      <div className="amount">
        <span className="currency" aria-hidden="true">
          {currency}
        </span>
        <input
          id={`${id}-amount`}
          type="text"
          inputMode="decimal"
          autoComplete="off"
          autoFocus // the form opened at the user's request: its field takes the focus
          required
          value={amount}
          onChange={(e) => setAmount(e.target.value)}
          aria-describedby={`${id}-left`}
        />
      </div>
      <span className="muted" id={`${id}-left`}>
        of {formatMoney(remaining, currency)} left on “{what}”
      </span>
      <span className="buttons">
        <button type="submit" className="primary small" aria-disabled={busy}>
          {busy ? "Refunding…" : "Confirm refund"}
        </button>
        <button type="button" className="secondary small" onClick={onClose} disabled={busy}>
          Cancel
        </button>
      </span>
      {error && (
        <p className="note error" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}

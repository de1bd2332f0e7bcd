import { useCallback, useEffect, useRef, useState } from "react";
import { friendlyError } from "../api/errors";
import type { Me, MoneyResponse, Transaction } from "../api/types";
import { useApi } from "../context";
import { formatMoney, toMinor } from "../money";
import { MoneyForm } from "./MoneyForm";
import { TransactionList } from "./TransactionList";

const PAGE_SIZE = 10;

interface WalletState {
  balance: bigint;
  currency: string;
}

export function WalletScreen() {
  const api = useApi();
  const [wallet, setWallet] = useState<WalletState | null>(null);
  const [me, setMe] = useState<Me | null>(null);
  const [transactions, setTransactions] = useState<Transaction[]>([]);
  const [nextPageToken, setNextPageToken] = useState("");
  const [loadingMore, setLoadingMore] = useState(false);
  const loadingMoreRef = useRef(false);
  // The first row of the last page loaded, to take the focus when "Load more" goes away.
  const [focusRow, setFocusRow] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  // Bumped by "Try again" after a failed first load.
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    let live = true;
    Promise.all([api.wallet(), api.transactions(PAGE_SIZE)])
      .then(([w, page]) => {
        if (!live) return;
        setWallet({ balance: toMinor(w.balance), currency: w.currency || "USD" });
        setTransactions(page.transactions ?? []);
        setNextPageToken(page.nextPageToken ?? "");
      })
      .catch((err: unknown) => live && setError(friendlyError(err)));
    // The profile is a nicety; the wallet works without it.
    api.me().then((m) => live && setMe(m), () => undefined);
    return () => {
      live = false;
    };
  }, [api, attempt]);

  // The balance in a money response is the one right after that transaction: a replayed
  // request (same idempotency key) returns its original, possibly older, balance, and two
  // forms' answers may arrive out of order. So the wallet is re-read, and only the answer to
  // the latest read is shown.
  const walletReads = useRef(0);
  const applied = useCallback(
    (result: MoneyResponse) => {
      const added = result.transaction;
      if (added) {
        setTransactions((list) => (list.some((t) => t.id === added.id) ? list : [added, ...list]));
      }
      const read = ++walletReads.current;
      api.wallet().then(
        (w) => {
          if (read === walletReads.current) {
            setWallet({ balance: toMinor(w.balance), currency: w.currency || "USD" });
          }
        },
        () => undefined, // the next money call or a reload shows it
      );
    },
    [api],
  );

  async function loadMore(event: React.MouseEvent<HTMLButtonElement>) {
    if (loadingMoreRef.current) return; // aria-disabled: presses arrive, and are ignored
    loadingMoreRef.current = true;
    setLoadingMore(true);
    const hadFocus = document.activeElement === event.currentTarget;
    try {
      const page = await api.transactions(PAGE_SIZE, nextPageToken);
      const fresh = page.transactions ?? [];
      setTransactions((list) => {
        const seen = new Set(list.map((t) => t.id));
        return [...list, ...fresh.filter((t) => !seen.has(t.id))];
      });
      setNextPageToken(page.nextPageToken ?? "");
      // The button goes with the last page: its focus moves on to what was loaded.
      if (hadFocus && !page.nextPageToken && fresh.length > 0) setFocusRow(fresh[0]!.id);
      setError(null);
    } catch (err) {
      setError(friendlyError(err));
    } finally {
      loadingMoreRef.current = false;
      setLoadingMore(false);
    }
  }

  if (!wallet) {
    return (
      <main className="wallet">
        {error ? (
          <div className="note error" role="alert">
            <p>{error}</p>
            <button
              type="button"
              className="secondary small"
              onClick={() => {
                setError(null);
                setAttempt((n) => n + 1);
              }}
            >
              Try again
            </button>
          </div>
        ) : (
          <p className="loading" role="status">
            Loading your wallet…
          </p>
        )}
      </main>
    );
  }

  const { currency } = wallet;
  return (
    <main className="wallet">
      {me && !me.emailVerified && (
        <p className="note" role="note">
          Please verify {me.email}: we sent you a link.
        </p>
      )}
      <section className="card balance-card" aria-labelledby="balance-title">
        <h2 id="balance-title">Balance</h2>
        <output className="balance" aria-labelledby="balance-title">
          {formatMoney(wallet.balance, currency)}
        </output>
        {me && <p className="muted">{me.email}</p>}
      </section>

      <div className="forms">
        <MoneyForm
          title="Top up"
          amountLabel="Top-up amount"
          submitLabel="Top up"
          currency={currency}
          onSubmit={(amount, _description, key) => api.topUp(amount, key)}
          onDone={applied}
          describe={(r) => `Added ${formatMoney(r.transaction?.amount ?? "0", currency)}.`}
        />
        <MoneyForm
          title="Charge"
          amountLabel="Charge amount"
          submitLabel="Charge"
          currency={currency}
          withDescription
          onSubmit={(amount, description, key) => api.charge(amount, description, key)}
          onDone={applied}
          describe={(r) =>
            `Charged ${formatMoney(toMinor(r.transaction?.amount ?? "0") * -1n, currency)}.`
          }
        />
      </div>

      <section className="card" aria-labelledby="tx-title">
        <h2 id="tx-title">Transactions</h2>
        {error && (
          <p className="note error" role="alert">
            {error}
          </p>
        )}
        <TransactionList
          transactions={transactions}
          currency={currency}
          onRefunded={applied}
          focusRow={focusRow}
        />
        {nextPageToken && (
          <button type="button" className="secondary more" onClick={loadMore} aria-disabled={loadingMore}>
            {loadingMore ? "Loading…" : "Load more"}
          </button>
        )}
      </section>
    </main>
  );
}

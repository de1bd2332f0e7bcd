import { useEffect, useState } from "react";
import type { ApiClient } from "../api/client";
import { friendlyError } from "../api/errors";
import { useApi } from "../context";
import { href, link } from "../router";

// One request per link and page load, even when React runs the effect twice (StrictMode):
// a second POST would answer "already used".
const attempts = new Map<string, Promise<unknown>>();

type Use = (api: ApiClient, token: string) => Promise<unknown>;

function onceFor(api: ApiClient, kind: string, token: string, use: Use): Promise<unknown> {
  const key = `${kind}:${token}`;
  let attempt = attempts.get(key);
  if (!attempt) {
    attempt = use(api, token);
    attempts.set(key, attempt);
  }
  return attempt;
}

type State = { status: "working" } | { status: "done" } | { status: "failed"; message: string };

interface LinkProps {
  token: string;
  kind: string;
  title: string;
  working: string;
  done: string;
  use: Use;
}

/** A screen a single-use mailed link opens: it posts the link's token once and says how it
 * went. */
function LinkScreen({ token, kind, title, working, done, use }: LinkProps) {
  const api = useApi();
  const [state, setState] = useState<State>(
    token ? { status: "working" } : { status: "failed", message: "This link has no token." },
  );

  useEffect(() => {
    if (!token) return;
    let live = true;
    onceFor(api, kind, token, use).then(
      () => live && setState({ status: "done" }),
      (err: unknown) => live && setState({ status: "failed", message: friendlyError(err) }),
    );
    return () => {
      live = false;
    };
  }, [api, kind, token, use]);

  return (
    <main className="card narrow">
      <h1>{title}</h1>
      {state.status === "working" && <p role="status">{working}</p>}
      {state.status === "done" && (
        <p className="note success" role="status">
          {done}
        </p>
      )}
      {state.status === "failed" && (
        <p className="note error" role="alert">
          {state.message}
        </p>
      )}
      <p>
        <a href={href("/")} onClick={link("/")}>
          Continue to Tollgate
        </a>
      </p>
    </main>
  );
}

const verify: Use = (api, token) => api.verifyEmail(token);
const confirmChange: Use = (api, token) => api.confirmEmailChange(token);

export function VerifyEmailScreen({ token }: { token: string }) {
  return (
    <LinkScreen
      token={token}
      kind="verify"
      title="Verify your email"
      working="Verifying your email address…"
      done="Your email address is verified. Thank you!"
      use={verify}
    />
  );
}

export function ConfirmEmailChangeScreen({ token }: { token: string }) {
  return (
    <LinkScreen
      token={token}
      kind="email-change"
      title="Confirm your new email address"
      working="Moving your account to this address…"
      done="Your account now uses this email address. Sign in with it from now on."
      use={confirmChange}
    />
  );
}

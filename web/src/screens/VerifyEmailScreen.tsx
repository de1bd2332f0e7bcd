import { useEffect, useState } from "react";
import type { ApiClient } from "../api/client";
import { friendlyError } from "../api/errors";
import { useApi } from "../context";
import { href, link } from "../router";

// One request per token and page load, even when React runs the effect twice (StrictMode):
// a second POST would answer "already used".
const attempts = new Map<string, Promise<unknown>>();

function verifyOnce(api: ApiClient, token: string): Promise<unknown> {
  let attempt = attempts.get(token);
  if (!attempt) {
    attempt = api.verifyEmail(token);
    attempts.set(token, attempt);
  }
  return attempt;
}

type State = { status: "working" } | { status: "done" } | { status: "failed"; message: string };

export function VerifyEmailScreen({ token }: { token: string }) {
  const api = useApi();
  const [state, setState] = useState<State>(
    token ? { status: "working" } : { status: "failed", message: "This link has no verification token." },
  );

  useEffect(() => {
    if (!token) return;
    let live = true;
    verifyOnce(api, token).then(
      () => live && setState({ status: "done" }),
      (err: unknown) => live && setState({ status: "failed", message: friendlyError(err) }),
    );
    return () => {
      live = false;
    };
  }, [api, token]);

  return (
    <main className="card narrow">
      <h1>Verify your email</h1>
      {state.status === "working" && <p role="status">Verifying your email address…</p>}
      {state.status === "done" && (
        <p className="note success" role="status">
          Your email address is verified. Thank you!
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

import { useEffect, useMemo, useState, useSyncExternalStore } from "react";
import { ApiClient } from "./api/client";
import { browserStorage, createTokenStore, followOtherTabs } from "./api/session";
import { ApiContext } from "./context";
import { href, link, navigate, useLocation } from "./router";
import { AccountScreen } from "./screens/AccountScreen";
import { AuthScreen } from "./screens/AuthScreen";
import { ForgotPasswordScreen, ResetPasswordScreen } from "./screens/PasswordResetScreens";
import { ConfirmEmailChangeScreen, VerifyEmailScreen } from "./screens/VerifyEmailScreen";
import { WalletScreen } from "./screens/WalletScreen";

export function App() {
  const [notice, setNotice] = useState<string | null>(null);
  // The address just registered, for the sign-in screen's notice (never from the URL).
  const [registered, setRegistered] = useState<string | null>(null);
  const { store, client } = useMemo(() => {
    const store = createTokenStore(browserStorage());
    const client = new ApiClient({
      tokens: store,
      onSessionExpired: () => {
        setNotice("Your session has ended. Please sign in again.");
        navigate("/sign-in", true);
      },
    });
    return { store, client };
  }, []);
  useEffect(() => followOtherTabs(store), [store]);
  const signedIn = useSyncExternalStore(store.subscribe, () => store.get() !== null);
  const { route, search } = useLocation();
  const [signingOut, setSigningOut] = useState(false);

  async function signOut() {
    setSigningOut(true);
    try {
      await client.logout();
    } catch {
      // The tokens are gone locally either way; the server session expires on its own.
    } finally {
      setSigningOut(false);
      setNotice("You have signed out.");
      navigate("/sign-in", true);
    }
  }

  // Signed-out visitors of the wallet go to sign-in; signed-in ones skip the auth forms.
  const target =
    (route === "home" || route === "account") && !signedIn
      ? "/sign-in"
      : (route === "sign-in" || route === "register") && signedIn
        ? "/"
        : null;
  useEffect(() => {
    if (target) navigate(target, true);
  }, [target]);

  let screen;
  const token = search.get("token") ?? "";
  if (route === "verify-email") screen = <VerifyEmailScreen token={token} />;
  else if (route === "confirm-email-change") screen = <ConfirmEmailChangeScreen token={token} />;
  else if (route === "reset-password") screen = <ResetPasswordScreen token={token} />;
  else if (route === "forgot-password") screen = <ForgotPasswordScreen />;
  else if (route === "home" && signedIn) screen = <WalletScreen />;
  else if (route === "account" && signedIn) screen = <AccountScreen />;
  else if (route === "sign-in" && !signedIn)
    screen = (
      <AuthScreen
        key="sign-in"
        mode="sign-in"
        notice={notice}
        email={registered ?? ""}
        justRegistered={registered !== null}
        onSignedIn={() => {
          setNotice(null);
          setRegistered(null);
          navigate("/");
        }}
      />
    );
  else if (route === "register" && !signedIn)
    screen = (
      <AuthScreen
        key="register"
        mode="register"
        notice={null}
        email=""
        onSignedIn={() => navigate("/")}
        onRegistered={(email) => {
          setRegistered(email);
          navigate("/sign-in");
        }}
      />
    );
  else if (route === "not-found")
    screen = (
      <main className="card narrow">
        <h1>Page not found</h1>
        <p>
          <a href={href("/")} onClick={link("/")}>
            Go to your wallet
          </a>
        </p>
      </main>
    );
  else screen = null;

  return (
    <ApiContext.Provider value={client}>
      <div className="page">
        <header className="topbar">
          <a className="brand" href={href("/")} onClick={link("/")}>
            <span className="logo" aria-hidden="true">
              T
            </span>
            Tollgate
          </a>
          {signedIn && (
            <nav aria-label="Account" className="topnav">
              <a href={href("/account")} onClick={link("/account")}>
                Account security
              </a>
              <button type="button" className="link-button" onClick={signOut} disabled={signingOut}>
                {signingOut ? "Signing out…" : "Sign out"}
              </button>
            </nav>
          )}
        </header>
        {screen}
      </div>
    </ApiContext.Provider>
  );
}

// Where the tokens live: in memory, mirrored to localStorage (see web/README.md), so every
// tab of the app shares one session. Refresh tokens rotate and the auth service treats a
// reused one as theft (it revokes the session), so tabs take turns to refresh: the client
// refreshes under a Web Lock and first re-reads the storage (`reload`), where another tab may
// have put tokens it just rotated.

export interface Tokens {
  accessToken: string;
  refreshToken: string;
}

export interface TokenStore {
  get(): Tokens | null;
  set(tokens: Tokens | null): void;
  subscribe(listener: (tokens: Tokens | null) => void): () => void;
  /** Re-reads the storage (another tab may have refreshed or signed out); tells listeners. */
  reload(): Tokens | null;
}

const KEY = "tollgate.session";

/** Minimal Storage surface, so tests can pass a fake and private modes can fail safely. */
export type KeyValueStorage = Pick<Storage, "getItem" | "setItem" | "removeItem">;

export function createTokenStore(storage?: KeyValueStorage | null): TokenStore {
  let current = load(storage);
  const listeners = new Set<(tokens: Tokens | null) => void>();
  return {
    get: () => current,
    set(tokens) {
      current = tokens;
      save(storage, tokens);
      for (const listener of listeners) listener(tokens);
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    reload() {
      if (!storage) return current;
      const stored = load(storage);
      if (!sameTokens(stored, current)) {
        current = stored;
        for (const listener of listeners) listener(stored);
      }
      return current;
    },
  };
}

function sameTokens(a: Tokens | null, b: Tokens | null): boolean {
  return a === b || (a !== null && b !== null && a.accessToken === b.accessToken && a.refreshToken === b.refreshToken);
}

function load(storage: KeyValueStorage | null | undefined): Tokens | null {
  try {
    const raw = storage?.getItem(KEY);
    if (!raw) return null;
    const parsed: unknown = JSON.parse(raw);
    if (
      parsed &&
      typeof parsed === "object" &&
      typeof (parsed as Tokens).accessToken === "string" &&
      typeof (parsed as Tokens).refreshToken === "string"
    ) {
      const { accessToken, refreshToken } = parsed as Tokens;
      return { accessToken, refreshToken };
    }
  } catch {
    // Unreadable or disabled storage: start signed out.
  }
  return null;
}

function save(storage: KeyValueStorage | null | undefined, tokens: Tokens | null): void {
  try {
    if (tokens) storage?.setItem(KEY, JSON.stringify(tokens));
    else storage?.removeItem(KEY);
  } catch {
    // Storage full or disabled: the in-memory copy still works for this page.
  }
}

export function browserStorage(): KeyValueStorage | null {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
}

/** Follows what other tabs do to the session (refresh, sign-out) as it happens. */
export function followOtherTabs(store: TokenStore): () => void {
  const onStorage = (event: StorageEvent) => {
    if (event.key === KEY || event.key === null) store.reload();
  };
  window.addEventListener("storage", onStorage);
  return () => window.removeEventListener("storage", onStorage);
}

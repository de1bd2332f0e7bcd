// Where the tokens live: in memory, mirrored to sessionStorage (see web/README.md).
// sessionStorage survives a reload of the tab but not closing it, and is not shared between
// tabs — so two tabs never race to rotate the same refresh token (the auth service treats a
// reused refresh token as theft and revokes the session).

export interface Tokens {
  accessToken: string;
  refreshToken: string;
}

export interface TokenStore {
  get(): Tokens | null;
  set(tokens: Tokens | null): void;
  subscribe(listener: (tokens: Tokens | null) => void): () => void;
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
  };
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

export function browserSessionStorage(): KeyValueStorage | null {
  try {
    return window.sessionStorage;
  } catch {
    return null;
  }
}

// A tiny History-API router: the app has a handful of screens, not worth a dependency. The gateway
// answers every /app/* path with index.html (SPA fallback), so deep links work.

import { useSyncExternalStore, type MouseEvent } from "react";

export const BASE = import.meta.env.BASE_URL.replace(/\/$/, ""); // "/app"

export type Route =
  | "home"
  | "sign-in"
  | "register"
  | "verify-email"
  | "forgot-password"
  | "reset-password"
  | "confirm-email-change"
  | "account"
  | "not-found";

const ROUTES: Record<string, Route> = {
  "": "home",
  "/": "home",
  "/sign-in": "sign-in",
  "/register": "register",
  "/verify-email": "verify-email",
  "/forgot-password": "forgot-password",
  "/reset-password": "reset-password",
  "/confirm-email-change": "confirm-email-change",
  "/account": "account",
};

export function routeOf(pathname: string): Route {
  const inner = pathname.startsWith(BASE) ? pathname.slice(BASE.length) : pathname;
  return ROUTES[inner.replace(/\/+$/, "") || "/"] ?? "not-found";
}

export function href(path: string): string {
  return BASE + path;
}

export function navigate(path: string, replace = false): void {
  const url = href(path);
  if (url === window.location.pathname + window.location.search) return;
  if (replace) window.history.replaceState(null, "", url);
  else window.history.pushState(null, "", url);
  window.dispatchEvent(new PopStateEvent("popstate"));
  window.scrollTo(0, 0);
}

function subscribe(callback: () => void): () => void {
  window.addEventListener("popstate", callback);
  return () => window.removeEventListener("popstate", callback);
}

export function useLocation(): { route: Route; search: URLSearchParams } {
  const path = useSyncExternalStore(subscribe, () => window.location.pathname);
  const search = useSyncExternalStore(subscribe, () => window.location.search);
  return { route: routeOf(path), search: new URLSearchParams(search) };
}

/** Click handler for in-app links: client-side navigation; modified clicks open a new tab. */
export function link(path: string) {
  return (event: MouseEvent<HTMLAnchorElement>) => {
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey || event.button !== 0) return;
    event.preventDefault();
    navigate(path);
  };
}

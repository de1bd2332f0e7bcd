// GraphiQL for the gateway's /graphql, built from npm packages into web/dist (no CDN): the
// gateway serves dist/graphiql.html at GET /graphql to browsers. Queries go to /graphql on
// the same origin; put "Authorization: Bearer <access token>" in the Headers tab to act as a
// signed-in user.
import "graphiql/setup-workers/vite";
import "graphiql/style.css";
import "./graphiql.css";

import { GraphiQL, type GraphiQLProps } from "graphiql";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";

const ENDPOINT = "/graphql";

const fetcher: GraphiQLProps["fetcher"] = async (params, options) => {
  const response = await fetch(ENDPOINT, {
    method: "POST",
    headers: { "content-type": "application/json", ...(options?.headers ?? {}) },
    body: JSON.stringify(params),
  });
  return response.json();
};

const root = document.getElementById("graphiql");
if (!root) throw new Error("graphiql.html has no #graphiql element");
createRoot(root).render(
  <StrictMode>
    <GraphiQL
      fetcher={fetcher}
      defaultQuery={"# Sign in over REST or with the login mutation, then add the header\n# {\"Authorization\": \"Bearer <accessToken>\"} in the Headers tab.\n{\n  me {\n    userId\n    email\n    accountState\n  }\n}\n"}
    />
  </StrictMode>,
);

// The API reference at /docs: Swagger UI (swagger-ui-dist from npm, bundled into web/dist by
// `npm run build`, no CDN) rendering the gateway's /openapi.json. "Authorize" takes a bearer
// access token (from POST /v1/auth/login); "Try it out" sends requests to the same origin.
import "swagger-ui-dist/swagger-ui.css";
import "./docs.css";

import SwaggerUI from "swagger-ui-dist/swagger-ui-es-bundle.js";

SwaggerUI({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  // Never ask validator.swagger.io for a badge: nothing leaves the machine.
  validatorUrl: null,
  tryItOutEnabled: true,
  displayRequestDuration: true,
  defaultModelsExpandDepth: 0,
  // The pasted token lives only in this tab, not in localStorage.
  persistAuthorization: false,
});

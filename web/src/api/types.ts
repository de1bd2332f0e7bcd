// Names for the REST contract's JSON shapes. The shapes themselves are generated: schema.ts
// comes from the gateway's /openapi.json (`make gen`, openapi-typescript), so none is written
// here by hand.
import type { components } from "./schema";

type Schemas = components["schemas"];

export type RegisterResponse = Schemas["tollgate.auth.v1.RegisterResponse"];
export type LoginResponse = Schemas["tollgate.auth.v1.LoginResponse"];
export type Me = Schemas["tollgate.auth.v1.MeResponse"];
export type Wallet = Schemas["tollgate.billing.v1.GetWalletResponse"];
export type Transaction = Schemas["tollgate.billing.v1.Transaction"];
export type TransactionKind = Schemas["tollgate.billing.v1.Transaction.Kind"];
export type MoneyResponse =
  | Schemas["tollgate.billing.v1.TopUpResponse"]
  | Schemas["tollgate.billing.v1.ChargeResponse"]
  | Schemas["tollgate.billing.v1.RefundResponse"];
export type TransactionPage = Schemas["tollgate.billing.v1.ListTransactionsResponse"];

// JSON shapes of the REST contract (grpc-gateway conventions: lowerCamel names, int64 as
// strings, enums by name, unset scalars present).

export interface RegisterResponse {
  userId: string;
  email: string;
}

export interface LoginResponse {
  accessToken: string;
  refreshToken: string;
  tokenType: string;
  expiresIn: string | number;
}

export interface Me {
  userId: string;
  email: string;
  emailVerified: boolean;
  createdAt: string;
}

export interface Wallet {
  balance: string;
  currency: string;
}

export type TransactionKind = "TOP_UP" | "CHARGE" | "REFUND" | "KIND_UNSPECIFIED";

export interface Transaction {
  id: string;
  /** Signed minor units: charges are negative. */
  amount: string;
  kind: TransactionKind;
  description: string;
  refundOf: string;
  createdAt: string;
  currency?: string;
}

export interface MoneyResponse {
  transaction: Transaction;
  balance: string;
}

export interface TransactionPage {
  transactions?: Transaction[];
  nextPageToken?: string;
}

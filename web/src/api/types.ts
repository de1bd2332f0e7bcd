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
  /** True for an account with a second factor: no tokens yet, mfaToken is the challenge. */
  mfaRequired?: boolean;
  mfaToken?: string;
}

export interface MfaEnrollment {
  secret: string;
  otpauthUri: string;
  /** An SVG image as a data: URI. */
  qrCode: string;
}

export interface Me {
  userId: string;
  email: string;
  emailVerified: boolean;
  createdAt: string;
  mfaEnabled?: boolean;
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

"""The GraphQL schema (SDL) and its wiring to the resolvers."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError, GraphQLScalarType, GraphQLSchema, build_schema
from graphql.language import IntValueNode, StringValueNode, ValueNode

from gateway.gql import resolvers
from gateway.transcoding import integer_from_json_string

SDL = """
"A 64-bit integer as a decimal string (money in minor units), like int64 in the REST API."
scalar Int64

enum TransactionKind { KIND_UNSPECIFIED TOP_UP CHARGE REFUND }
"Where an account is in its life (the sign-up and closure sagas move it)."
enum AccountState { ACCOUNT_STATE_UNSPECIFIED PENDING ACTIVE CLOSING CLOSED }

type User {
  userId: ID!
  email: String!
  emailVerified: Boolean!
  createdAt: String
  accountState: AccountState!
  "Whether login asks for a second factor (TOTP)."
  mfaEnabled: Boolean!
}
type Wallet { balance: Int64! currency: String! }
type Transaction {
  id: ID!
  amount: Int64!
  kind: TransactionKind!
  description: String!
  refundOf: String
  currency: String!
  createdAt: String
}
type TransactionPage { transactions: [Transaction!]! nextPageToken: String! }
type Registration { userId: ID! email: String! accountState: AccountState! }
"CLOSED, or CLOSING when the closure was still running when the answer was sent."
type AccountClosure { accountState: AccountState! }
"A login's answer; with a second factor: mfaRequired, no tokens, mfaToken for completeMfaLogin."
type Tokens {
  accessToken: String!
  refreshToken: String!
  tokenType: String!
  expiresIn: Int!
  mfaRequired: Boolean!
  mfaToken: String
}
"A TOTP secret to enroll: for an authenticator app, as text, otpauth:// URI and QR code."
type MfaEnrollment { secret: String! otpauthUri: String! "An SVG data: URI." qrCode: String! }
"Ten single-use recovery codes, shown this once."
type MfaRecoveryCodes { recoveryCodes: [String!]! }
type WalletChange { transaction: Transaction! balance: Int64! }

type Query {
  "The signed-in user."
  me: User!
  wallet: Wallet!
  "The ledger, newest first."
  transactions(pageSize: Int, pageToken: String): TransactionPage!
}

type Mutation {
  register(email: String!, password: String!): Registration!
  login(email: String!, password: String!): Tokens!
  refresh(refreshToken: String!): Tokens!
  "Ends the session of the token the request was made with."
  logout: Boolean!
  topUp(amount: Int64!, idempotencyKey: String!): WalletChange!
  charge(amount: Int64!, description: String, idempotencyKey: String!): WalletChange!
  refund(chargeId: ID!, amount: Int64!, idempotencyKey: String!): WalletChange!
  "Closes the signed-in account: password checked again, wallet must be empty."
  closeAccount(password: String!): AccountClosure!
  "Mails a reset link if an account has this address; the same answer either way."
  requestPasswordReset(email: String!): Boolean!
  "Sets a new password with a reset link's token; every session ends."
  confirmPasswordReset(token: String!, newPassword: String!): Boolean!
  "Every other session ends; the caller's stays."
  changePassword(currentPassword: String!, newPassword: String!): Boolean!
  "Mails a link to the new address; the address changes when it is followed."
  changeEmail(password: String!, newEmail: String!): Boolean!
  confirmEmailChange(token: String!): Boolean!
  enrollMfa: MfaEnrollment!
  "Turns the second factor on with a code from the enrolled secret."
  confirmMfa(code: String!): MfaRecoveryCodes!
  disableMfa(password: String!, code: String!): Boolean!
  "A login's second step: a TOTP code or a recovery code."
  completeMfaLogin(mfaToken: String!, code: String!): Tokens!
}
"""

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def _parse_int64(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise GraphQLError("Int64 must be an integer or a decimal string")
    # A string as the REST API (protojson) reads it: "1e2" is 100, "1_000" or " 5" nothing.
    try:
        number = value if isinstance(value, int) else integer_from_json_string(value)
    except ValueError:
        raise GraphQLError("Int64 must be an integer or a decimal string") from None
    if not _INT64_MIN <= number <= _INT64_MAX:
        raise GraphQLError("Int64 out of range")
    return number


def _parse_int64_literal(node: ValueNode, _variables: Any = None) -> int:
    if isinstance(node, IntValueNode | StringValueNode):
        return _parse_int64(node.value)
    raise GraphQLError("Int64 must be an integer or a decimal string")


def build_graphql_schema() -> GraphQLSchema:
    schema = build_schema(SDL)
    int64 = schema.type_map["Int64"]
    if not isinstance(int64, GraphQLScalarType):
        raise TypeError("Int64 is not a scalar")
    # graphql-core 3.3 reads coerce_*; 3.2 reads serialize/parse_*: set both.
    int64.serialize = int64.coerce_output_value = str  # type: ignore[method-assign,assignment]
    int64.parse_value = int64.coerce_input_value = _parse_int64  # type: ignore[method-assign]
    int64.parse_literal = _parse_int64_literal  # type: ignore[method-assign,assignment]
    for type_name, fields in resolvers.RESOLVERS.items():
        graphql_type = schema.type_map[type_name]
        for field_name, resolve in fields.items():
            graphql_type.fields[field_name].resolve = resolve  # type: ignore[attr-defined]
    return schema

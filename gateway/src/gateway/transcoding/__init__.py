"""REST ↔ gRPC transcoding from ``google.api.http`` rules, after grpc-gateway v2.

Self-contained: depends only on ``protobuf``, ``googleapis-common-protos`` and
``orjson``. Typical use::

    table = RouteTable.from_services([billing_pb2.DESCRIPTOR.services_by_name["BillingService"]])
    found = table.match("POST", "/v1/wallet/charges/ch_1/refunds")   # once per request
    if isinstance(found, Match):
        request = build_request(found.route, found.path_params, query, body,
                                field_overrides={"idempotency_key": key})
        ...call found.route.grpc_method...
        payload = render_response(found.route, response)
"""

from gateway.transcoding._comments import comments_by_name
from gateway.transcoding._errors import (
    FIELD_BELONGS_IN_HEADER,
    INVALID_FIELD,
    INVALID_PATH,
    MALFORMED_JSON,
    InvalidHttpRuleError,
    TranscodeError,
)
from gateway.transcoding._escaping import UnescapingMode
from gateway.transcoding._request import build_request, integer_from_json_string
from gateway.transcoding._response import message_json, render_response
from gateway.transcoding._routes import (
    HeaderField,
    Match,
    MethodNotAllowed,
    NotFound,
    Route,
    RouteTable,
)
from gateway.transcoding._template import PathTemplate
from gateway.transcoding._template_parser import expand, parse_template
from gateway.transcoding.openapi import build_openapi

__all__ = [
    "FIELD_BELONGS_IN_HEADER",
    "INVALID_FIELD",
    "INVALID_PATH",
    "MALFORMED_JSON",
    "HeaderField",
    "InvalidHttpRuleError",
    "Match",
    "MethodNotAllowed",
    "NotFound",
    "PathTemplate",
    "Route",
    "RouteTable",
    "TranscodeError",
    "UnescapingMode",
    "build_openapi",
    "build_request",
    "comments_by_name",
    "expand",
    "integer_from_json_string",
    "message_json",
    "parse_template",
    "render_response",
]

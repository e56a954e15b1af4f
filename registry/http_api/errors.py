"""Registry errors as HTTP answers: the status Google's API design guide maps
the gRPC code to, and the JSON error body of AIP-193 carrying the same
``google.rpc.ErrorInfo`` (reason, domain, metadata) the gRPC API sends.
"""

from __future__ import annotations

import grpc

from registry.errors import ERROR_DOMAIN, RegistryError

ERROR_INFO_TYPE = "type.googleapis.com/google.rpc.ErrorInfo"

# https://cloud.google.com/apis/design/errors#handling_errors
HTTP_STATUS: dict[grpc.StatusCode, int] = {
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    # The registry's FAILED_PRECONDITIONs are about the resource's state (an
    # order already collected cannot be cancelled): a conflict, 409.
    grpc.StatusCode.FAILED_PRECONDITION: 409,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.CANCELLED: 499,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
}


def http_status(code: grpc.StatusCode) -> int:
    return HTTP_STATUS.get(code, 500)


def error_body(error: RegistryError) -> dict:
    """``{"error": {code, status, message, details: [ErrorInfo]}}`` for ``error``."""
    return {
        "error": {
            "code": http_status(error.code),
            "status": error.code.name,
            "message": error.message,
            "details": [{
                "@type": ERROR_INFO_TYPE,
                "reason": error.reason,
                "domain": ERROR_DOMAIN,
                "metadata": dict(error.metadata),
            }],
        }
    }

"""SendGrid's error bodies (fact sheet §1), kept as ready-to-send bytes."""

from __future__ import annotations

import json


def error_body(message: str, field: str | None = None) -> bytes:
    return json.dumps({"errors": [{"field": field, "message": message}]}).encode()


AUTH_REQUIRED = error_body("authorization required")
INVALID_GRANT = json.dumps(
    {
        "errors": [
            {
                "message": "The provided authorization grant is invalid, "
                "expired, or revoked",
                "field": None,
                "help": None,
            }
        ]
    }
).encode()
FORBIDDEN = error_body("access forbidden")
TOO_MANY = error_body("too many requests")
NOT_FOUND = error_body("resource not found")
METHOD_NOT_ALLOWED = error_body("method not allowed")
SERVER_ERROR = error_body("internal server error")

HTML_BAD_GATEWAY = (
    "<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n"
    "<center><h1>{status} {reason}</h1></center>\r\n</body>\r\n</html>\r\n"
)


class BadRequest(Exception):
    """A bad query value; becomes a SendGrid-style 400 body."""

    def __init__(self, field: str | None, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.status = status

    def body(self) -> bytes:
        return error_body(self.message, self.field)

"""PICPIK's answer envelope and RetCodes (decisions K2, K5, K6, K14; D182).

Every answer carries ``Action`` (the request's, echoed), ``RetCode``, ``Message`` and
``request_uuid`` (the request's, echoed; drawn by the mock when the request has none). Errors
are HTTP 200 except a wrong method (405) and an unknown path (404).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bgmock.server.core.endpoints import FastJSONResponse, ProviderError
from starlette.responses import Response

# RetCode -> Message. ``{}`` is the parameter a 220 / 230 names. The sheet fixes 170-172, 220
# and 230; the others are UCloud-family codes whose wording the mock chose (D182). Those in
# FAULT_ONLY are reached only through X-Mock-Fault or admin fault rules.
MESSAGES: dict[int, str] = {
    110: "API Timeout",
    130: "Gateway Error",
    150: "Service Unavailable",
    153: "Request Too Frequent",
    160: "Missing Action",
    161: "Action Not Exists",
    170: "Missing signature",
    171: "Signature VerifyAC Error",
    172: "User Not Exists",
    173: "Account Restricted",
    174: "Token Not Exists",
    210: "Missing Key Params",
    220: "Missing params [{}]",
    230: "Params [{}] not available",
    240: "Authorization Error",
    292: "Project Not Exists",
    293: "Zone Not Available",
    294: "IP Denied",
    295: "Security Lock",
    299: "IAM Check Failed",
    310: "Params Type Error",
    520: "Insufficient Balance",
}
FAULT_ONLY = (110, 130, 150, 173, 174, 210, 240, 292, 293, 294, 295, 299, 310)
TASK_ERROR_CODE = 500  # a failed task's ErrorCode / TaskErrorCode (K13)


@dataclass(frozen=True, slots=True)
class Echo:
    """What an answer repeats of its request: ``Action`` and ``request_uuid`` (K5)."""

    action: str
    request_uuid: str

    def envelope(self, ret_code: int = 0, message: str = "") -> dict[str, Any]:
        return {"Action": self.action, "RetCode": ret_code, "Message": message,
                "request_uuid": self.request_uuid}


class PicpikError(ProviderError):
    """A non-zero RetCode in PICPIK's envelope; ``field`` is the parameter a 220/230 names."""

    def __init__(self, ret_code: int, echo: Echo, field: str = "", status: int = 200,
                 detail: str = "") -> None:
        self.ret_code, self.echo, self.status = ret_code, echo, status
        message = MESSAGES[ret_code].format(field)
        self.message = f"{message}: {detail}" if detail else message
        self.code = str(ret_code)
        super().__init__(f"{ret_code}: {self.message}")

    def response(self) -> Response:
        return FastJSONResponse(self.echo.envelope(self.ret_code, self.message),
                                status_code=self.status)


def success(echo: Echo, result: dict[str, Any]) -> Response:
    return FastJSONResponse({**echo.envelope(), **result})

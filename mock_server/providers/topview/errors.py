"""Topview's error envelope and codes (Response Code page + the code table in Topview's client)."""

from __future__ import annotations

from bgmock.server.core.endpoints import FastJSONResponse, ProviderError
from starlette.responses import Response

MESSAGES: dict[str, str] = {
    "401": "Unauthorized, need to login again",
    "4000": "Request parameter error",
    "4001": "Request data format does not match!",
    "4002": "Request digital signature does not match!",
    "4003": "Required parameter cannot be null",
    "4004": "Resource not found!",
    "4005": "Name duplicated",
    "4006": "Request refuse",
    "4007": "Exists unfinished task, please wait until the previous task is completed.",
    "4100": "Credit not enough",
    "5000": "Internal server error!",
    "5001": "Feign invoke error",
    "5003": "Server is busy, please try again later!",
    "5004": "I/O error occurred",
    "5005": "Unknown error occurred",
    "6001": "Security problem detect",
}
# Not Topview codes: what the mock answers for a path or method Topview does not have (D4).
ROUTING = {"404": (404, "Not Found"), "405": (405, "Method Not Allowed")}


class TopviewError(ProviderError):
    def __init__(self, code: str) -> None:
        if code in ROUTING:
            self.status, self.message = ROUTING[code]
        else:
            self.status, self.message = 200, MESSAGES[code]  # KeyError: not a Topview code
        self.code = code
        super().__init__(f"{code} {self.message}")

    def response(self) -> Response:
        return FastJSONResponse({"code": self.code, "message": self.message, "result": None},
                            status_code=self.status)


def success(result: object) -> Response:
    return FastJSONResponse({"code": "200", "message": "Success", "result": result})

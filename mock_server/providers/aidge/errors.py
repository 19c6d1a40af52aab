"""Aidge's two error shapes: gateway errors (IOP envelope) and business errors (resCode)."""

from __future__ import annotations

from typing import Any

from bgmock.server.core.endpoints import FastJSONResponse, ProviderError
from starlette.responses import Response

GATEWAY: dict[str, str] = {  # A3, A4, A5, A16, A21
    "IncompleteSignature": "The request signature does not conform to platform standards",
    "IllegalTimestamp": "The specified timestamp is out of the allowed range",
    "InvalidAppKey": "The specified app key is invalid",
    "InvalidApiPath": "The specified API path is invalid",
    "ApiCallLimit": "Api access frequency exceeds the limit. this ban will last 1 seconds",
    "NoResource": "Sorry, your calling resources have been exhausted........",
}
BUSINESS: dict[int, str] = {  # provider-docs/002 + the Image Translation Pro table
    500: "system error",
    501: "rate limit exceed",
    700: "invalid input",
    703: "image size exceeds the limit",
    704: "invalid image form",
    705: "image file size exceeds the",
    801: "model failed",
    900: "tpp url error",
    1000: "content has sensitive data, please try other input",
    1001: "content control failed, please retry",
    1002: "content risk filter failed, please contact us",
}
DATA_CLASS = "com.aidc.service.api.client.image.dto.ImageGenResponse"


class AidgeGatewayError(ProviderError):
    def __init__(self, code: str, request_id: str) -> None:
        self.code, self.message, self.request_id = code, GATEWAY[code], request_id
        super().__init__(f"{code}: {self.message}")

    def response(self) -> Response:
        return FastJSONResponse({"type": "ISV", "code": self.code, "message": self.message,
                             "request_id": self.request_id})


class AidgeBusinessError(ProviderError):
    def __init__(self, res_code: int, ids: tuple[str, str], detail: str | None = None) -> None:
        message = BUSINESS[res_code]
        self.res_code, self.message = res_code, f"{message}: {detail}" if detail else message
        self.code, self.ids = str(res_code), ids
        super().__init__(f"{res_code}: {self.message}")

    def response(self) -> Response:
        request_id, gateway_id = self.ids
        return FastJSONResponse({"success": False, "resCode": self.res_code,
                             "resMessage": self.message, "requestId": request_id, "code": "0",
                             "request_id": gateway_id, "_trace_id_": request_id,
                             "data": None})


def success(data: dict[str, Any], ids: tuple[str, str]) -> Response:
    request_id, gateway_id = ids
    return FastJSONResponse({"data": data, "requestId": request_id, "success": True,
                         "resCode": 200, "resMessage": "success", "code": "0",
                         "request_id": gateway_id, "_trace_id_": request_id})

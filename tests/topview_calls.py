"""Calling the Topview mock from tests: the docs' demo credentials, the paths, and the upload /
submit / query flows on a :class:`~tests.harness.Target`."""

from __future__ import annotations

from typing import Any

import httpx

from tests.harness import Target, answer

DEMO_UID = "NsDAaOPF4jLuAie4ewyg"
DEMO_KEY = "sk-vEsneECh1J5eKHUw4vxHI61e7FvXPnPE1625PmSt3HB"
DEMO = {"Topview-Uid": DEMO_UID, "Authorization": f"Bearer {DEMO_KEY}"}
TV = "/topview"
SUBMIT = f"{TV}/v1/common_task/remove_background/submit"
QUERY = f"{TV}/v1/common_task/remove_background/query"
CREDENTIAL = f"{TV}/v1/upload/credential"
CHECK = f"{TV}/v1/upload/check"
CREDIT = f"{TV}/user/credit/detail"


def topview_body(operation: str, response: httpx.Response) -> dict[str, Any]:
    """The JSON body, checked against its contract (success or error envelope)."""
    return answer("topview", operation, response)


class TopviewApi(Target):
    """Topview on the mock, as the docs' demo account."""

    provider = "topview"

    def credentials(self) -> dict[str, Any]:
        return {"headers": DEMO}

    def upload(self, data: bytes, fmt: str = "png") -> str:
        credential = self.call("upload_credential", params={"format": fmt})
        put = self.http.put(credential["result"]["uploadUrl"], content=data)
        assert put.status_code == 200, put.text
        return credential["result"]["fileId"]

    def submit(self, file_id: str, fault: str | None = None) -> str:
        headers = {**DEMO, **({"X-Mock-Fault": fault} if fault else {})}
        body = self.call("remove_background_submit", json={"productImageFileId": file_id},
                         headers=headers)
        assert body["code"] == "200", body
        return body["result"]["taskId"]

    def query(self, task_id: str, cloudfront: bool = False) -> dict[str, Any]:
        params = {"taskId": task_id, "needCloudFrontUrl": "true" if cloudfront else "false"}
        return self.call("remove_background_query", params=params)


Api = TopviewApi  # the name the tests have used for Topview's target

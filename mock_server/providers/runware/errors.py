"""Runware's error object (R7) and every code the mock emits (R8, R19, R22-R24), one named class
each. An error item is ``{code, message, parameter, type, taskType, taskUUID, documentation}``:
``parameter`` and ``type`` where a parameter is at fault, ``taskType`` / ``taskUUID`` those of
the task it answers (filled in from the task when the answer is rendered), ``documentation``
always (decision D191)."""

from __future__ import annotations

from typing import Any, ClassVar

from bgmock.server.core.endpoints import FastJSONResponse, ProviderError
from starlette.responses import Response

DOCS = "https://runware.ai/docs/en"
ERRORS_PAGE = "https://runware.ai/docs/platform/errors"
TASK_PAGES = {  # each task type's reference page (the error's ``documentation``)
    "authentication": f"{DOCS}/getting-started/how-to-connect",
    "ping": f"{DOCS}/getting-started/how-to-connect",
    "imageUpload": f"{DOCS}/utilities/image-upload",
    "imageBackgroundRemoval": f"{DOCS}/image-editing/background-removal",
    "removeBackground": f"{DOCS}/tools/remove-background",
    "getResponse": f"{DOCS}/utilities/task-responses",
}


def documentation(task_type: str | None, parameter: str | None) -> str:
    """The docs' anchor style: ``<page>#request-<parameter in lower case>``."""
    page = TASK_PAGES.get(task_type or "")
    if page is None:
        return ERRORS_PAGE
    if parameter:
        return f"{page}#request-{parameter.split('.')[-1].lower()}"
    return page


class RunwareError(ProviderError):
    """One error object. Subclasses fix ``code``, the HTTP ``status`` it stands for on REST
    (R9) and the default ``message``."""

    code: str = ""
    status: int = 400
    default_message: ClassVar[str] = ""

    def __init__(self, message: str | None = None, *, parameter: str | None = None,
                 type: str | None = None, task_type: str | None = None,
                 task_uuid: str | None = None, extra: dict[str, Any] | None = None) -> None:
        self.message = message or self.default_message
        self.parameter, self.type = parameter, type
        self.task_type, self.task_uuid = task_type, task_uuid
        self.extra = extra or {}
        super().__init__(f"{self.code}: {self.message}")

    def item(self, task: Any = None) -> dict[str, Any]:
        """The error object; ``task`` (the item it answers) gives taskType and taskUUID."""
        task_type, task_uuid = self.task_type, self.task_uuid
        if isinstance(task, dict):
            if task_type is None:
                task_type = _echo(task.get("taskType"))
            if task_uuid is None:
                task_uuid = _echo(task.get("taskUUID"))
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.parameter is not None:
            body["parameter"] = self.parameter
        if self.type is not None:
            body["type"] = self.type
        if task_type is not None:
            body["taskType"] = task_type
        if task_uuid is not None:
            body["taskUUID"] = task_uuid
        body["documentation"] = documentation(task_type, self.parameter)
        body.update(self.extra)
        return body

    def response(self) -> Response:
        return FastJSONResponse({"errors": [self.item()]}, status_code=self.status)


ECHO_LIMIT = 256  # characters of a client's taskType / taskUUID echoed back


def _echo(value: Any) -> str | None:
    return value if isinstance(value, str) and len(value) <= ECHO_LIMIT else None


# --- authentication (401) -------------------------------------------------------------------

class MissingApiKey(RunwareError):
    code, status = "missingApiKey", 401
    default_message = ("Missing API key. Authenticate first: send an authentication task "
                       "(or, on REST, an Authorization: Bearer header).")


class InvalidApiKey(RunwareError):
    code, status = "invalidApiKey", 401
    default_message = "Invalid API key. Get one at https://my.runware.ai/signup"


# --- validation (400) -----------------------------------------------------------------------

class ConflictTaskUUID(RunwareError):
    code = "conflictTaskUUID"
    default_message = "The taskUUID has already been used by another task. Use a new UUID v4."


class InvalidTaskUUID(RunwareError):
    code = "invalidTaskUUID"
    default_message = "Invalid value for taskUUID parameter. It must be a UUID v4 string."


class UnsupportedTaskType(RunwareError):
    code = "unsupportedTaskType"
    default_message = "Unsupported taskType."


class UnknownParameter(RunwareError):
    code = "unknownParameter"
    default_message = "Unknown parameter."


class UnsupportedParameter(RunwareError):
    code = "unsupportedParameter"
    default_message = "Unsupported parameter for this model."


class InvalidInputImage(RunwareError):
    code = "invalidInputImage"
    default_message = ("Invalid value for inputImage parameter. It must be the UUID of an "
                       "uploaded or generated image, a data URI, a base64 string or a public "
                       "URL of a PNG, JPG or WEBP image.")


class UnsupportedModel(RunwareError):
    code = "unsupportedModel"
    default_message = "Unsupported model for this task."


class ValueTooLarge(RunwareError):
    code = "valueTooLarge"
    default_message = "Value too large."


class ValueTooSmall(RunwareError):
    code = "valueTooSmall"
    default_message = "Value too small."


class MissingParameter(RunwareError):
    """``missing<Field>`` (R24): the code names the field."""

    def __init__(self, field: str, **kwargs: Any) -> None:
        self.code = "missing" + field[:1].upper() + field[1:]
        super().__init__(f"Missing required parameter: {field}.", parameter=field, **kwargs)


class InvalidParameter(RunwareError):
    """``invalid<Field>`` (Runware's naming pattern, D192): a value of the wrong type or not one
    of the allowed values."""

    def __init__(self, field: str, message: str | None = None, **kwargs: Any) -> None:
        leaf = field.split(".")[-1]
        self.code = "invalid" + leaf[:1].upper() + leaf[1:]
        super().__init__(message or f"Invalid value for {field} parameter.", parameter=field,
                         **kwargs)


class InvalidPayload(RunwareError):
    code = "invalidPayload"
    default_message = ("Invalid request body: it must be valid JSON, a JSON array of 1 to "
                       "1000 task objects, each with a taskType (REST bodies and socket frames "
                       "up to 30 MiB).")


# --- not found (404), credits (402) ----------------------------------------------------------

class TaskNotFound(RunwareError):
    code, status = "taskNotFound", 404
    default_message = "No task with this taskUUID was found for this API key."


class MediaNotFound(RunwareError):
    code, status = "mediaNotFound", 404
    default_message = "The task's image is no longer stored."


class InsufficientCredits(RunwareError):
    code, status = "insufficientCredits", 402
    default_message = "Insufficient credits, please add your credit card and top-up your balance"


# --- transient (faults): 429, 503, 504 --------------------------------------------------------

class TimeoutProvider(RunwareError):
    code, status = "timeoutProvider", 504
    default_message = ("The external provider did not respond within the timeout window. The "
                       "request was automatically terminated.")


class RateLimitExceeded(RunwareError):
    code, status = "rateLimitExceeded", 429
    default_message = "Queue capacity exceeded. Retry with back-off."


class ServiceUnavailable(RunwareError):
    code, status = "serviceUnavailable", 503
    default_message = "Temporary capacity constraint. Retry with back-off."


class InternalServerError(RunwareError):
    code, status = "internalServerError", 500
    default_message = "Internal server error."


class NotFound(RunwareError):
    """An unknown path (404) or method (405) on the REST API."""

    code = "notFound"

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        super().__init__(message)


# Codes an ``error=<code>`` fault may inject (R8, R23): each as the class that answers it.
INJECTABLE: dict[str, type[RunwareError]] = {cls.code: cls for cls in (
    MissingApiKey, InvalidApiKey, ConflictTaskUUID, InvalidTaskUUID, UnsupportedTaskType,
    UnknownParameter, UnsupportedParameter, InvalidInputImage, UnsupportedModel, ValueTooLarge,
    ValueTooSmall, TaskNotFound, InsufficientCredits, TimeoutProvider, RateLimitExceeded,
    ServiceUnavailable, InternalServerError)}
# Fault shorthands by HTTP status (X-Mock-Fault: error=429).
INJECTABLE.update({"429": RateLimitExceeded, "503": ServiceUnavailable, "504": TimeoutProvider})


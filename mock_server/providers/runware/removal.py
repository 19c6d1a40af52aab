"""Background removal: the two task types' fields as :class:`~bgmock.server.core.matting.Matting`
options (every documented field changes the output image), and the work itself."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bgmock.server.core.matting import Matting
from bgmock.server.providers.runware import errors

DEFAULT_MODEL = "runware:109@1"   # RemBG 1.4 (R10): the only model taking settings (R11)
MODELS = frozenset({DEFAULT_MODEL, "runware:110@1", "runware:112@1", "runware:112@2",
                    "runware:112@3", "runware:112@5", "runware:112@6", "runware:112@7",
                    "runware:112@8", "runware:112@9", "runware:112@10"})
SETTING_NAMES = ("rgba", "postProcessMask", "returnOnlyMask", "alphaMatting",
                 "alphaMattingForegroundThreshold", "alphaMattingBackgroundThreshold",
                 "alphaMattingErodeSize")
FORMATS = {"PNG": "PNG", "JPG": "JPEG", "WEBP": "WEBP"}
OUTPUTS = {"URL": "imageURL", "base64Data": "imageBase64Data", "dataURI": "imageDataURI"}
DEFAULTS = {"alphaMattingForegroundThreshold": 240, "alphaMattingBackgroundThreshold": 10,
            "alphaMattingErodeSize": 10}  # R12


@dataclass(frozen=True)
class Request:
    """One removal task, read: its image options and how the answer is delivered."""

    options: Matting
    output: str                        # imageURL | imageBase64Data | imageDataURI
    model: str


def settings_of(params: dict[str, Any], legacy: bool) -> dict[str, Any]:
    """The task's settings: flattened on the legacy task (ignored for a model other than
    RemBG, R22), nested on ``removeBackground`` (refused for another model, R22)."""
    model = params.get("model", DEFAULT_MODEL)
    if model not in MODELS:
        raise errors.UnsupportedModel(f"Unsupported model: {model[:100]}. Supported: "
                                      f"{', '.join(sorted(MODELS))}.", parameter="model",
                                      type="string")
    if legacy:
        found = {k: params[k] for k in SETTING_NAMES if k in params}
        return found if model == DEFAULT_MODEL else {}
    found = params.get("settings")
    if found is not None and model != DEFAULT_MODEL:
        raise errors.UnsupportedParameter(
            f"The settings parameter is only supported by model {DEFAULT_MODEL}.",
            parameter="settings", type="object")
    return dict(found or {})


def read(params: dict[str, Any], legacy: bool) -> Request:
    """Raises the task's own error for a model or settings it cannot take."""
    settings = settings_of(params, legacy)
    alpha_matting = bool(settings.get("alphaMatting", False))
    value = {**DEFAULTS, **settings}
    rgba = settings.get("rgba")
    background = None
    if rgba is not None and rgba[3] > 0:  # alpha 0: the background stays transparent
        background = (int(rgba[0]), int(rgba[1]), int(rgba[2]), round(rgba[3] * 255))
    options = Matting(  # JSON's 10.0 is an integer to the contract: ints from here on
        erode=int(value["alphaMattingErodeSize"]) if alpha_matting else 0,
        foreground_threshold=int(value["alphaMattingForegroundThreshold"]),
        background_threshold=int(value["alphaMattingBackgroundThreshold"]),
        alpha_matting=alpha_matting,
        refine_edges=bool(settings.get("postProcessMask", False)),
        only_mask=bool(settings.get("returnOnlyMask", False)),
        background=background,
        fmt=FORMATS[str(params.get("outputFormat", "PNG")).upper()],
        quality=int(params.get("outputQuality", 95)))
    return Request(options, OUTPUTS[params.get("outputType", "URL")],
                   params.get("model", DEFAULT_MODEL))


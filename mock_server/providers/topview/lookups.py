"""Lookup lists: voices (``/v1/voice/query``) and caption styles (``/v1/caption/list``).

Deterministic fixtures (T27, D126): the same list on every fresh or reset mock, containing every
id the docs use (``voiceId`` ``zeeTdrCqbhpVKOucLtOKdhytM7rbJx5t``, ``captionId``
``3cfcb29df99746d4b438e169dda47647``). The demo clips (WAV) and caption thumbnails (PNG) are
real files behind signed URLs, made on first download.
"""

from __future__ import annotations

import hashlib
import io
import math
import struct
import wave
from dataclasses import dataclass
from functools import cache, partial
from typing import Any

from bgmock.server.core import imaging
from bgmock.server.core.endpoints import Call
from bgmock.server.core.engine import Engine
from bgmock.server.providers.topview import service
from PIL import Image, ImageDraw

DOCS_VOICE_ID = "zeeTdrCqbhpVKOucLtOKdhytM7rbJx5t"
DOCS_CAPTION_ID = "3cfcb29df99746d4b438e169dda47647"
# The 33 language codes of Topview's voice reference.
LANGUAGES = ("en", "ar", "bg", "cs", "da", "de", "el", "es", "fi", "fr", "hi", "hr", "hu",
             "id", "it", "ja", "ko", "ms", "nl", "no", "pl", "pt", "ro", "ru", "sk", "sv",
             "ta", "tr", "uk", "vi", "zh-CN", "zh-Hant", "th")
GENDERS = ("female", "male")
AGES = ("Young", "Middle Age", "Old")
STYLES = ("UGC", "Advertisement", "Cartoon_And_Animals", "Influencer")
ACCENTS = {"en": ("American", "British", "Australian")}
NAMES = ("Ava", "Liam", "Mia", "Noah", "Zoe", "Leo", "Ivy", "Owen", "Ruby", "Eli", "Nora",
         "Finn")
CLIP_SECONDS, CLIP_RATE = 1.0, 16000
CAPTION_COUNT = 8
DEFAULT_PAGE_SIZE = 20


@dataclass(frozen=True, slots=True)
class Voice:
    voice_id: str
    name: str
    language: str
    gender: str
    age: str
    style: str
    accent: str

    @property
    def audio_key(self) -> str:
        return f"voice/demo/{self.voice_id}.wav"


def _letters(seed: str, n: int = 32) -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    digest = hashlib.sha256(seed.encode()).digest() + hashlib.sha256(seed.encode() + b"+").digest()
    return "".join(alphabet[b % len(alphabet)] for b in digest[:n])


@cache
def voices() -> tuple[Voice, ...]:
    """Two voices (one per gender) for every language; the docs' voice first."""
    found = [Voice(DOCS_VOICE_ID, "Ava", "en", "female", "Young", "UGC", "American")]
    for i, language in enumerate(LANGUAGES):
        for j, gender in enumerate(GENDERS):
            n = 2 * i + j + 1
            accents = ACCENTS.get(language, (language,))
            found.append(Voice(_letters(f"voice:{language}:{gender}"),
                               f"{NAMES[n % len(NAMES)]} {language}", language, gender,
                               AGES[n % len(AGES)], STYLES[n % len(STYLES)],
                               accents[n % len(accents)]))
    return tuple(found)


@cache
def captions() -> tuple[str, ...]:
    return (DOCS_CAPTION_ID, *(hashlib.sha256(f"caption:{i}".encode()).hexdigest()[:32]
                               for i in range(1, CAPTION_COUNT)))


def caption_key(caption_id: str) -> str:
    return f"caption/{caption_id}.png"


# --- the files behind the URLs (made on first download) ----------------------------------

@cache
def demo_clip(voice_id: str) -> bytes:
    """A short mono 16-bit WAV: a tone whose pitch comes from the voice id."""
    pitch = 160 + hashlib.sha256(voice_id.encode()).digest()[0]
    frames = int(CLIP_SECONDS * CLIP_RATE)
    samples = (int(8000 * math.sin(2 * math.pi * pitch * t / CLIP_RATE)) for t in range(frames))
    out = io.BytesIO()
    with wave.open(out, "wb") as clip:
        clip.setnchannels(1)
        clip.setsampwidth(2)
        clip.setframerate(CLIP_RATE)
        clip.writeframes(struct.pack(f"<{frames}h", *samples))
    return out.getvalue()


@cache
def thumbnail(caption_id: str) -> bytes:
    """A 320 x 120 PNG: a caption bar in the style's colours with a sample word."""
    digest = hashlib.sha256(caption_id.encode()).digest()
    img = Image.new("RGB", (320, 120), (30 + digest[0] % 60,) * 3)
    draw = ImageDraw.Draw(img)
    draw.rounded_rectangle((20, 40, 300, 92), radius=10,
                           fill=(digest[1], digest[2], digest[3]))
    draw.text((40, 58), "Caption", fill=(255 - digest[1], 255 - digest[2], 255 - digest[3]))
    return imaging.encode(img, "png")


def seed(engine: Engine) -> None:
    for voice in voices():
        engine.files.put_lazy(service.RESULT_BUCKET, voice.audio_key,
                              partial(demo_clip, voice.voice_id), "audio/wav")
    for caption_id in captions():
        engine.files.put_lazy(service.RESULT_BUCKET, caption_key(caption_id),
                              partial(thumbnail, caption_id), "image/png")


# --- handlers ----------------------------------------------------------------------------

def _matches(voice: Voice, params: dict[str, Any]) -> bool:
    """Empty filters match everything; names match as a case-insensitive substring."""
    exact = {"language": voice.language, "gender": voice.gender, "age": voice.age,
             "style": voice.style, "accent": voice.accent}
    for name, value in exact.items():
        wanted = params.get(name) or ""
        if wanted and wanted.lower() != value.lower():
            return False
    if service.query_flag(params.get("isCustom", "")):  # fixtures are public voices only
        return False
    return (params.get("voiceName") or "").lower() in voice.name.lower()


async def voice_query(call: Call) -> dict[str, Any]:
    params = call.params
    page_no = int(params.get("pageNo") or 1)               # ranged by the contract
    page_size = int(params.get("pageSize") or DEFAULT_PAGE_SIZE)
    found = [v for v in voices() if _matches(v, params)]
    start = (page_no - 1) * page_size
    data = [{"voiceId": v.voice_id, "voiceName": v.name, "language": v.language,
             "gender": v.gender, "age": v.age, "style": v.style, "accent": v.accent,
             "bestSupportLanguage": v.language,
             "demoAudioUrl": service.signed_url(call.engine, call.base_url, v.audio_key, False),
             "durations": CLIP_SECONDS}
            for v in found[start:start + page_size]]
    return {"total": len(found), "pageNo": page_no, "data": data}


async def caption_list(call: Call) -> list[dict[str, str]]:
    return [{"captionId": caption_id,
             "thumbnail": service.signed_url(call.engine, call.base_url,
                                             caption_key(caption_id), False)}
            for caption_id in captions()]

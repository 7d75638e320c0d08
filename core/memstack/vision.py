"""Images in chat messages: split from the text, then described by an LLM that can see them.

A message's ``content`` may be a list of parts, in the OpenAI shape (``{"type": "text",
"text": ...}``, ``{"type": "image_url", "image_url": {"url": ...}}``) or the Anthropic one
(``{"type": "image", "source": {...}}``). The text parts become ``content``; the image parts
are kept, as given, in ``images``. Before anything is stored, each message with images is
described by the configured LLM — it must declare the ``vision`` capability and receives the
message's image parts on `ChatMessage.images` — and the description joins the message text,
so facts are extracted from it (or it is stored as given with ``infer=False``). Without an
LLM, or with one that cannot see, adding an image is `UnsupportedFeature` naming what to
configure; an image is never silently dropped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from memstack.capabilities import VISION
from memstack.errors import InvalidInput, UnsupportedFeature
from memstack.models import ChatMessage
from memstack.protocols import LLM

IMAGE_TYPES = ("image_url", "image", "input_image")
DESCRIBE = ("Describe what the image(s) in the user's message show, in plain sentences, as "
            "someone keeping notes about the user would: people, places, objects, text in "
            "the image, dates. Reply with the description only.")
PLACEHOLDER = "[image]"


def split_parts(content: Any, where: str) -> tuple[str, list[dict[str, Any]]]:
    """A list of content parts → (the text parts joined, the image parts as given)."""
    texts: list[str] = []
    images: list[dict[str, Any]] = []
    for n, part in enumerate(content):
        kind = part.get("type") if isinstance(part, Mapping) else None
        if kind == "text" and isinstance(part.get("text"), str):
            texts.append(part["text"])
        elif kind in IMAGE_TYPES:
            images.append(dict(part))
        else:
            raise InvalidInput(f"{where}[{n}] must be a text part {{'type': 'text', 'text': "
                               f"...}} or an image part (type {', '.join(IMAGE_TYPES)}), got "
                               f"{kind or type(part).__name__!r}")
    return "\n".join(texts).strip() or (PLACEHOLDER if images else ""), images


def describe_images(llm: LLM | None, messages: Sequence[ChatMessage],
                    llm_name: str = "llm") -> list[ChatMessage]:
    """Messages with their images replaced by the LLM's description of them."""
    if not any(m.images for m in messages):
        return list(messages)
    if llm is None:
        raise UnsupportedFeature("(no llm)", [VISION], "a message holds an image: configure an "
                                 "`llm` whose provider and model can see images (capability "
                                 "'vision') to describe it; memstack stores text only")
    if VISION not in llm.capabilities:
        raise UnsupportedFeature(llm_name, [VISION], "a message holds an image: configure an "
                                 "`llm` whose model can see images, or send the text only")
    out: list[ChatMessage] = []
    for m in messages:
        if not m.images:
            out.append(m)
            continue
        said = "" if m.content == PLACEHOLDER else m.content
        seen = llm.chat([ChatMessage(role="system", content=DESCRIBE),
                         m.model_copy(update={"role": "user"})]).strip()
        text = "\n".join(t for t in (said, f"[image: {seen}]" if seen else "") if t)
        out.append(m.model_copy(update={"content": text or PLACEHOLDER, "images": []}))
    return out

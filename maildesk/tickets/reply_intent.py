"""What a resident's reply means: a confirmation, a rejection, a thank-you (pure).

`states.resident_reply_effect` asks here. `is_confirmation` is deliberately
conservative: only the first meaningful line may confirm, every word of it must be a
known confirming phrase (or thanks), and any negation or complaint in the first lines
cancels it. When in doubt the ticket reopens and a human looks. Spanish and English.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from maildesk.text import fold

__all__ = ["is_confirmation", "is_rejection", "is_thanks"]


def _phrases(text: str) -> frozenset[str]:
    """A comma-separated vocabulary, one topic a line; `#` lines are comments."""
    lines = (line.strip() for line in text.splitlines())
    listed = (p.strip() for line in lines if not line.startswith("#") for p in line.split(","))
    return frozenset(p for p in listed if p)


# Words are compared folded: lower case, no accents, "’" as "'".
_CONFIRMING = _phrases(
    """
    # Spanish
    si, sip, ok, okay, okey, vale, listo, perfecto, excelente, genial, correcto
    resuelto, solucionado, arreglado, reparado, ya esta, ya quedo
    ya esta resuelto, ya esta solucionado, ya esta arreglado
    esta resuelto, esta solucionado, esta arreglado
    quedo resuelto, quedo solucionado, quedo arreglado
    funciona, ya funciona, funciona bien, ya funciona bien, funciona perfecto, ahora funciona
    todo bien, todo ok, todo correcto, todo en orden
    confirmo, confirmado, de acuerdo, conforme, estoy conforme
    # English
    yes, yep, great, perfect, fixed, all fixed, resolved, solved, confirmed, i confirm
    works, it works, it works now, works now, working, it's working, it is working
    all good, looks good
    👍
    """
)
# May accompany a confirmation on the same line, but never confirm on their own.
_POLITE = _phrases(
    """
    gracias, muchas gracias, mil gracias, muchisimas gracias, gracias a todos, por favor
    saludos, un saludo, slds, atte, hola, buenas, buenos dias, buenas tardes, buenas noches
    no hay problema, no problem, no worries
    thanks, thank you, thanks a lot, many thanks, thank you very much, thx, please
    regards, cheers, hi, hello
    🙏, 🙂, 😊, 😀, 😃
    """
)
# Harmless phrases that contain a negative word; removed before looking for negatives.
_BENIGN = ("no hay problema", "no hay de que", "no problem", "no worries", "ningun problema")
# Any of these in the first lines cancels a confirmation (deliberately broad).
_NEGATIVE_WORDS = _phrases(
    """
    no, not, nunca, never, nada, nothing, ni, tampoco, yet, cannot
    doesnt, dont, isnt, didnt
    sigue, siguen, seguimos, sigo, todavia, aun, still
    pero, but, aunque, although, however
    again, volvio, vuelve, volvieron
    mal, peor, worse, wrong, error, falla, fallando, fallo, roto, rota, broken
    gotea, goteando, leaking, leak
    rechazo, reject, inconforme, insatisfecho, unhappy, 👎
    """
)
_NEGATIVE_PHRASES = ("sin embargo", "otra vez", "de nuevo")
# The explicit "no, it is not solved" set: the reject signal.
_REJECTING = _phrases(
    """
    no funciona, no anda, no sirve, no quedo, no resuelto, no solucionado
    no esta resuelto, no esta solucionado, no esta arreglado, no se ha resuelto, no se resolvio
    no estoy conforme, no estoy satisfecho, rechazo, inconforme, insatisfecho
    sigue, siguen, sigue igual, siguen igual, sigue mal, sigue fallando, sigue sin
    todavia, todavia no, aun no, otra vez, de nuevo, volvio a, nunca vinieron, nadie vino
    not fixed, not working, not resolved, not solved, not happy, not yet, still, broken, again
    doesn't work, does not work, didn't work, did not work, isn't fixed, is not fixed
    reject, unhappy, 👎
    """
)
_BUT = frozenset({"pero", "but", "aunque", "although", "however"})
_GREETING = re.compile(
    r"^(hola|buen[oa]s?(\s+(dias|tardes|noches))?|estimad[oa]s?|senor(es|a)?|hi|hello|hey|"
    r"dear|good\s+(morning|afternoon|evening))\b[^?¿]{0,40}$"
)
_SIGNATURE = re.compile(r"^(--|__|—)\s*$")
_EMOJI_TOKENS = "👍👎🙏🙂😊😀😃"
_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[" + _EMOJI_TOKENS + "]")
_HEAD_LINES = 3
_MAX_LINE = 1000
_MAX_PHRASE = 4


def _fold(text: str) -> str:
    # Skin-tone modifiers would split the thumbs-up from itself.
    return "".join(c for c in fold(text.replace("’", "'")) if not "\U0001f3fb" <= c <= "\U0001f3ff")


def _head(text: str) -> list[str]:
    """The folded non-blank lines up to a signature, without an opening greeting line.

    "Hola Juan," on a line of its own is dropped; "Hola, ya funciona" is kept, since
    it says something.
    """
    lines: list[str] = []
    for raw in text.splitlines():
        # Only the opening lines matter; long ones are cut so hostile text stays cheap.
        line = _fold(raw[:_MAX_LINE]).strip()
        if _SIGNATURE.match(line):
            break
        if line:
            lines.append(line)
        if len(lines) > _HEAD_LINES:
            break
    if (
        lines
        and _GREETING.match(lines[0])
        and not _segments(_tokens(lines[0]), need_confirming=True)
    ):
        lines = lines[1:]
    return lines


def _is_question(line: str) -> bool:
    return "?" in line or "¿" in line


def _tokens(line: str) -> list[str]:
    return _TOKEN.findall(line)


def _contains(tokens: Sequence[str], phrase: Sequence[str]) -> bool:
    n = len(phrase)
    return any(list(tokens[i : i + n]) == list(phrase) for i in range(len(tokens) - n + 1))


def _without_benign(line: str) -> str:
    for phrase in _BENIGN:
        line = re.sub(rf"(?<!\w){re.escape(phrase)}(?!\w)", " ", line)
    return line


def _segments(tokens: Sequence[str], *, need_confirming: bool) -> bool:
    """Whether `tokens` split wholly into known phrases, at least one confirming if asked."""
    # reach[i] is None when position i cannot be reached, else whether a confirming
    # phrase was seen on some way there.
    reach: list[bool | None] = [None] * (len(tokens) + 1)
    reach[0] = False
    for i in range(len(tokens)):
        seen = reach[i]
        if seen is None:
            continue
        for n in range(1, min(_MAX_PHRASE, len(tokens) - i) + 1):
            phrase = " ".join(tokens[i : i + n])
            value = True if phrase in _CONFIRMING else seen if phrase in _POLITE else None
            if value is not None:
                current = reach[i + n]
                reach[i + n] = value if current is None else current or value
    end = reach[len(tokens)]
    return end is True if need_confirming else end is not None


def _has_negative(lines: Sequence[str]) -> bool:
    for line in lines:
        cleaned = _without_benign(line)
        tokens = _tokens(cleaned)
        if any(t in _NEGATIVE_WORDS or t.endswith("n't") for t in tokens):
            return True
        if any(_contains(tokens, p.split()) for p in _NEGATIVE_PHRASES):
            return True
    return False


def is_confirmation(text: str) -> bool:
    """Whether a resident's reply confirms the resolution (Spanish or English).

    The first meaningful line must consist only of confirming phrases and thanks
    ("Sí, gracias", "Ya funciona 👍", "Thanks, all good"), without a question mark;
    and no negation or complaint may appear in the first three lines ("sí, pero
    sigue goteando", "ok\\ntodavía no"). Anything else is not a confirmation.
    """
    lines = _head(text)
    if not lines or _is_question(lines[0]):
        return False
    if _has_negative(lines[:_HEAD_LINES]):
        return False
    return _segments(_tokens(lines[0]), need_confirming=True)


def is_rejection(text: str) -> bool:
    """Whether a reply says explicitly that the problem is not solved, or is unhappy.

    Looks at the first three meaningful lines for the explicit negative set
    ("no", "no funciona", "sigue igual", "todavía no", "not fixed", "still
    broken", 👎) and for "pero"/"but" followed by more words ("sí, pero …").
    """
    lines = _head(text)[:_HEAD_LINES]
    for index, line in enumerate(lines):
        tokens = _tokens(_without_benign(line))
        if index == 0 and tokens[:1] == ["no"]:
            return True
        if any(_contains(tokens, p.split()) for p in _REJECTING):
            return True
        for i, token in enumerate(tokens):
            if token in _BUT and i + 1 < len(tokens):
                return True
    return False


def is_thanks(text: str) -> bool:
    """A bare thank-you ("¡Muchas gracias!"): not a confirmation, not a complaint."""
    lines = _head(text)
    if not lines or _is_question(lines[0]) or _has_negative(lines[:_HEAD_LINES]):
        return False
    tokens = _tokens(lines[0])
    return bool(tokens) and _segments(tokens, need_confirming=False)

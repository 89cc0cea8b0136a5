"""Guards on Whisper's words: flag, never drop (docs/caption-style.md, "Editorial rules").

Words the model was unsure of, Whisper's known hallucinations (repeated phrases, "Thanks for watching",
"Subtitles by ..."), phone numbers, helpline names and near-misses of glossary terms are flagged for the
reviewer; so are a child's personal details (issue 18): likely names of people and places, schools, street
addresses, postcodes, ages, dates of birth and e-mail addresses. Personal details are found by rules, not by a
named-entity model (none installs from the registries without a download at run time); a word spelled as a
glossary entry is never flagged as one. The words themselves stay as the model heard them: only a person
changes the text.
"""

from __future__ import annotations

import difflib
import enum
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline import fsutil
from pipeline.captions import segment
from pipeline.models import Word

LOW_PROBABILITY = 0.5
_BOILERPLATE = [re.compile(p) for p in (
    r"thanks? (you )?for watching", r"subtitles? by", r"captions? by", r"transcribed by", r"please subscribe",
    r"like and subscribe", r"amara\.org", r"see you (in the )?next (video|time)")]
_HELPLINES = frozenset({"childline", "samaritans", "nspcc", "shout", "papyrus", "helpline", "hopeline", "kooth",
                        "barnardo's", "barnardos", "refuge", "crimestoppers", "ceop", "mind"})


class Flag(enum.StrEnum):
    LOW_CONFIDENCE = "low_confidence"
    REPEATED = "repeated"
    BOILERPLATE = "boilerplate"
    PHONE_NUMBER = "phone_number"
    HELPLINE = "helpline"
    GLOSSARY = "glossary"  # close to a glossary term but not spelled as it
    NO_SPEECH = "no_speech"  # where voice activity detection heard no speech: often invented text
    PERSONAL_NAME = "personal_name"  # a capitalised word inside a sentence: a person's or a place's name
    SCHOOL = "school"
    ADDRESS = "address"
    POSTCODE = "postcode"
    AGE = "age"
    DATE_OF_BIRTH = "date_of_birth"
    EMAIL = "email"


@dataclass(frozen=True)
class FlaggedWord:
    word: Word
    flags: tuple[Flag, ...]


def _bare(text: str) -> str:
    return re.sub(r"[^\w'.]", "", text.lower()).strip(".")


def _repeats(tokens: list[str]) -> set[int]:
    """Indexes of words in a phrase of 1 to 4 words said three or more times in a row: a decoding loop."""
    flagged: set[int] = set()
    for size in range(1, 5):
        start = 0
        while start + size <= len(tokens):
            phrase, run = tokens[start:start + size], 1
            while tokens[start + run * size:start + (run + 1) * size] == phrase:
                run += 1
            if run >= 3:
                flagged.update(range(start + size, start + run * size))
                start += run * size
            else:
                start += 1
    return flagged


def _boilerplate(tokens: list[str]) -> set[int]:
    text, offsets, position = "", [], 0
    for token in tokens:
        offsets.append(position)
        text += token + " "
        position = len(text)
    flagged: set[int] = set()
    for pattern in _BOILERPLATE:
        for match in pattern.finditer(text):
            flagged.update(i for i, start in enumerate(offsets) if match.start() <= start < match.end())
    return flagged


def _glossary_miss(original: str, glossary_words: tuple[str, ...]) -> bool:
    """A word written differently from a glossary term it is close to (wrong case, or a near spelling)."""
    clean = original.strip(".,;:!?\"'")
    if len(clean) < 4 or clean in glossary_words:
        return False
    lowered = {term.lower() for term in glossary_words}
    return clean.lower() in lowered or bool(difflib.get_close_matches(clean.lower(), lowered, n=1, cutoff=0.8))


# -- a child's personal details (issue 18) ----------------------------------------------------------------------

# Capitalised words that are neither people nor places: calendar and family words, languages, school words, and
# the apps an online-safety film names.
_NOT_NAMES = frozenset({
    "google", "youtube", "instagram", "tiktok", "snapchat", "facebook", "whatsapp", "roblox", "minecraft",
    "fortnite", "discord", "twitter", "wikipedia", "xbox", "playstation", "iphone", "android",
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "january", "february", "march",
    "april", "may", "june", "july", "august", "september", "october", "november", "december", "christmas",
    "easter", "diwali", "eid", "ramadan", "hanukkah", "halloween", "mum", "mummy", "mom", "dad", "daddy", "nan",
    "nana", "gran", "granny", "grandma", "grandad", "grandpa", "god", "english", "british", "welsh", "scottish",
    "irish", "internet", "ok", "okay", "tv", "sir", "miss", "head", "year", "key", "stage"})
_MONTHS = frozenset({"january", "february", "march", "april", "may", "june", "july",
                      "august", "september", "october", "november", "december"})
_SCHOOL_WORDS = frozenset({"school", "academy", "college", "nursery", "university"})
_SCHOOL_KINDS = frozenset({"primary", "secondary", "junior", "juniors", "infant", "infants", "high", "grammar",
                           "community", "church", "of", "england", "catholic", "c", "e", "sixth", "form",
                           "free", "prep", "preparatory", "middle", "upper", "lower", "saint"})
_STREET_WORDS = frozenset({"street", "st", "road", "rd", "lane", "avenue", "ave", "close", "drive", "way",
                           "crescent", "grove", "place", "gardens", "terrace", "court", "square", "mews", "row",
                           "walk", "hill", "parade"})
_NOT_IN_A_NAME = frozenset({"the", "a", "an", "our", "my", "your", "his", "her", "their", "at", "to", "in", "from",
                            "for", "on", "near", "by", "go", "goes", "went", "is", "was"})
_NUMBER_WORDS = ("one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
                 "sixteen seventeen eighteen nineteen twenty").split()
_AGE_NUMBER = r"(?:[1-9]|1\d|2[01]|" + "|".join(_NUMBER_WORDS) + ")"
_AGE_WORD = re.compile(_AGE_NUMBER + r"-years?-olds?")  # "ten-year-old", "10-year-old"
_BEFORE_AGE = frozenset({"i'm", "am", "is", "he's", "she's", "they're", "you're", "we're", "turned", "turning", "turn"})
_BIRTH = frozenset({"born", "birthday", "birth", "dob", "d.o.b"})
_DATE_PART = re.compile(r"(?:[1-9]|[12]\d|3[01])(?:st|nd|rd|th)?|(?:19|20)\d\d|\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}|"
                        r"(?:twenty-|thirty-)?(?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|"
                        r"tenth|eleventh|twelfth|thirteenth|fourteenth|fifteenth|sixteenth|seventeenth|"
                        r"eighteenth|nineteenth|twentieth|thirtieth)")
_DATE_GLUE = frozenset({"of", "the", "on", "in", "is", "was", "my", "her", "his", "their"})
_POSTCODE = re.compile(r"[A-Z]{1,2}\d[A-Z\d]?\d[A-Z]{2}")
_OUTWARD, _INWARD = re.compile(r"[A-Z]{1,2}\d[A-Z\d]?"), re.compile(r"\d[A-Z]{2}")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_DOMAIN = re.compile(r"[\w-]+(?:\.[\w-]+)*\.(?:com|org|net|uk|edu|gov|io|me|info)", re.IGNORECASE)
_TIME_OR_PRICE = re.compile(r"\d{1,2}[.:]\d{2}|\d+\.\d{1,2}")  # 10.30, 10:30, 3.50: not a phone number
_EMAIL_WORDS = frozenset({"email", "e-mail", "emails", "emailed", "address", "addresses"})
_NOT_AN_ADDRESS = frozenset({"me", "us", "him", "her", "them", "you", "is", "email", "mail", "and", "or"})
_TOP_LEVEL = frozenset({"com", "org", "net", "uk", "edu", "gov", "io", "me", "info"})


def _clean(text: str) -> str:
    return text.strip().strip(".,;:!?\"'()[]“”‘’")


def _capitalised(clean: str) -> bool:
    """Starts with a capital and is not in capitals throughout (an acronym such as "NSPCC" or "BBC")."""
    return len(clean) > 1 and clean[0].isupper() and any(c.islower() for c in clean)


def _sentence_starts(words: list[Word]) -> list[bool]:
    """Whether each word starts a sentence: the first word, after a sentence end, or a Whisper segment's first
    word (a sentence Whisper heard end without a full stop) unless a title comes before it."""
    return [index == 0 or segment.is_sentence_end(words[index - 1].text, word.text)
            or (word.starts_segment and not segment.is_title(words[index - 1].text))
            for index, word in enumerate(words)]


def _name_run(words: list[Word], clean: list[str], before: int) -> list[int]:
    """The capitalised words just before index `before`, within its sentence ("Riverside Primary" School)."""
    run: list[int] = []
    index = before - 1
    while index >= 0 and clean[index].lower() not in _NOT_IN_A_NAME and (
            _capitalised(clean[index]) or clean[index].lower() in _SCHOOL_KINDS or segment.is_title(clean[index])):
        if segment.is_sentence_end(words[index].text, words[index + 1].text) and index != before - 1:
            break
        run.append(index)
        index -= 1
    return run[::-1]


def _schools_and_streets(words: list[Word], clean: list[str]) -> dict[int, Flag]:
    found: dict[int, Flag] = {}
    for index, word in enumerate(clean):
        lower = word.lower()
        if lower in _SCHOOL_WORDS:
            run = _name_run(words, clean, index)
            if any(_capitalised(clean[i]) for i in run):
                found.update((i, Flag.SCHOOL) for i in (*run, index))
        elif lower in _STREET_WORDS and word[:1].isupper():
            following = clean[index + 1] if index + 1 < len(clean) else ""
            if lower == "st" and _capitalised(following):
                continue  # St. Mary's: a saint, not a street
            run = [i for i in _name_run(words, clean, index) if _capitalised(clean[i])]
            if run:
                number = run[0] - 1
                if number >= 0 and re.fullmatch(r"\d{1,4}[a-zA-Z]?", clean[number]):
                    run.insert(0, number)
                found.update((i, Flag.ADDRESS) for i in (*run, index))
        elif lower in _STREET_WORDS and index >= 2 and re.fullmatch(r"\d{1,4}[a-zA-Z]?", clean[index - 2]):
            found.update((i, Flag.ADDRESS) for i in (index - 2, index - 1, index))  # "12 elm street"
    return found


def _postcodes_and_emails(words: list[Word], clean: list[str]) -> dict[int, Flag]:
    found: dict[int, Flag] = {}
    for index, word in enumerate(clean):
        following = clean[index + 1] if index + 1 < len(clean) else ""
        if _POSTCODE.fullmatch(word):
            found[index] = Flag.POSTCODE
        elif _OUTWARD.fullmatch(word) and _INWARD.fullmatch(following):
            found[index] = found[index + 1] = Flag.POSTCODE
        if _EMAIL.search(words[index].text):
            found[index] = Flag.EMAIL
        elif word.lower() == "at" and index > 0:  # said aloud: "jess at example dot com", "jess at example.com"
            end = _domain_end(clean, index + 1)
            if end is not None:
                local = index - 1 if clean[index - 1].lower() not in _NOT_AN_ADDRESS else index + 1
                found.update((i, Flag.EMAIL) for i in range(local, end + 1))
        elif word.lower() in _EMAIL_WORDS:  # "email ... jessicaexample.com": the "@" lost by the recogniser
            end = _domain_end(clean, index + 1)
            if end is not None:
                found.update((i, Flag.EMAIL) for i in range(end, end + 1))
    return found


def _domain_end(clean: list[str], start: int) -> int | None:
    """The index of the last word of a domain written or said within six words from `start`."""
    for end in range(start, min(start + 6, len(clean))):
        spoken = end > start and clean[end - 1].lower() == "dot" and clean[end].lower() in _TOP_LEVEL
        if _DOMAIN.fullmatch(clean[end]) or spoken:
            while end + 2 < len(clean) and clean[end + 1].lower() == "dot":
                end += 2
            return end
    return None


def _ages_and_birthdays(words: list[Word], clean: list[str]) -> dict[int, Flag]:
    found: dict[int, Flag] = {}
    lower = [w.lower() for w in clean]
    for index, word in enumerate(lower):
        following = lower[index + 1:index + 3]
        if _AGE_WORD.fullmatch(word):
            found[index] = Flag.AGE
        elif re.fullmatch(_AGE_NUMBER, word):
            if following[:1] in (["years"], ["year"]) and following[1:] in (["old"], ["olds"]):
                found.update((i, Flag.AGE) for i in range(index, index + 3))
            elif following[:1] in (["year-old"], ["years-old"], ["year-olds"]):
                found[index] = found[index + 1] = Flag.AGE
            elif index > 0 and lower[index - 1] in {"aged", "age"}:
                found[index - 1] = found[index] = Flag.AGE
            elif index > 0 and lower[index - 1] in _BEFORE_AGE and (
                    not following or following[0] in {"and", "now", "too", "next", "soon"}
                    or segment.is_sentence_end(words[index].text)):
                found[index] = Flag.AGE
        if word in _BIRTH:
            for later in range(index + 1, min(index + 8, len(lower))):
                if _DATE_PART.fullmatch(lower[later]) or lower[later] in _MONTHS:
                    found[later] = Flag.DATE_OF_BIRTH
                elif lower[later] not in _DATE_GLUE:
                    break
                if segment.is_sentence_end(words[later].text):
                    break
    return found


def _names(words: list[Word], clean: list[str]) -> set[int]:
    """Likely names of people and places: capitalised words that do not start a sentence, the word after a
    title, and a sentence's first word that is capitalised inside a sentence elsewhere."""
    starts = _sentence_starts(words)

    def key(index: int) -> str:
        return re.sub(r"'s$", "", clean[index])

    candidates = [i for i, word in enumerate(clean)
                  if _capitalised(word) and not segment.is_title(word) and key(i).lower() not in _NOT_NAMES
                  and not re.fullmatch(r"I(?:'\w+)?", word) and not any(c.isdigit() for c in word)]
    inside = {key(i) for i in candidates if not starts[i]}
    return {i for i in candidates
            if not starts[i] or key(i) in inside or (i > 0 and segment.is_title(words[i - 1].text))}


def personal_details(words: list[Word], glossary_words: tuple[str, ...] = ()) -> dict[int, Flag]:
    """Index -> the kind of personal detail for each word that may be one; glossary words are never flagged."""
    clean = [_clean(w.text) for w in words]
    found: dict[int, Flag] = {i: Flag.PERSONAL_NAME for i in _names(words, clean)}
    found.update(_ages_and_birthdays(words, clean))
    found.update(_schools_and_streets(words, clean))
    found.update(_postcodes_and_emails(words, clean))
    return {i: flag for i, flag in found.items() if clean[i] not in glossary_words}


# A helpline, boilerplate or a glossary near-miss is flagged as that already, not as a name too.
_NAMED_ALREADY = frozenset({Flag.HELPLINE, Flag.BOILERPLATE, Flag.GLOSSARY})
SPEECH_TOLERANCE_MS = 250  # word timings and VAD edges are each a little loose


def _outside_speech(word: Word, speech: list[tuple[int, int]]) -> bool:
    return not any(start - SPEECH_TOLERANCE_MS < word.end_ms and word.start_ms < end + SPEECH_TOLERANCE_MS
                   for start, end in speech)


def flag_words(words: list[Word], glossary: tuple[str, ...] = (),
               speech: list[tuple[int, int]] | None = None) -> list[FlaggedWord]:
    """`speech`: where voice activity detection heard speech (ms); None when it was not run."""
    tokens = [_bare(w.text) for w in words]
    repeated, boilerplate = _repeats(tokens), _boilerplate(tokens)
    glossary_words = tuple(part for term in glossary for part in term.split())
    personal = personal_details(words, glossary_words)
    result = []
    for index, (word, token) in enumerate(zip(words, tokens, strict=True)):
        flags = []
        if word.probability < LOW_PROBABILITY:
            flags.append(Flag.LOW_CONFIDENCE)
        if index in repeated:
            flags.append(Flag.REPEATED)
        if index in boilerplate:
            flags.append(Flag.BOILERPLATE)
        if sum(c.isdigit() for c in token) >= 3 and not _TIME_OR_PRICE.fullmatch(_clean(word.text).lstrip("£$€")):
            flags.append(Flag.PHONE_NUMBER)
        if token in _HELPLINES:
            flags.append(Flag.HELPLINE)
        if glossary_words and _glossary_miss(word.text, glossary_words):
            flags.append(Flag.GLOSSARY)
        if speech is not None and _outside_speech(word, speech):
            flags.append(Flag.NO_SPEECH)
        detail = personal.get(index)
        if detail and not (detail is Flag.PERSONAL_NAME and _NAMED_ALREADY & set(flags)):
            flags.append(detail)
        result.append(FlaggedWord(word, tuple(flags)))
    return result


def word_rows(flagged: list[FlaggedWord]) -> list[dict[str, Any]]:
    """The words with their timings, confidence and flags, as JSON rows: the sidecar file and the editor's API."""
    return [{"start_ms": f.word.start_ms, "end_ms": f.word.end_ms, "text": f.word.text,
             "probability": round(f.word.probability, 3), "flags": [flag.value for flag in f.flags]}
            for f in flagged]


def write_words(path: Path, flagged: list[FlaggedWord]) -> None:
    """The words for the review editor, next to the captions (never published)."""
    fsutil.write_text(path, json.dumps(word_rows(flagged), indent=1) + "\n")


def read_words(path: Path) -> list[FlaggedWord]:
    if not path.is_file():
        return []
    rows = json.loads(path.read_text(encoding="utf-8"))
    return [FlaggedWord(Word(r["start_ms"], r["end_ms"], r["text"], r["probability"]),
                        tuple(Flag(f) for f in r["flags"])) for r in rows]

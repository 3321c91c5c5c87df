"""Synthetic chat messages for the search benchmark (``tests.benchmarks.search``): pseudo-words
drawn by Zipf's law (the common ones short, a few accented), messages of a chat's lengths,
some set phrases, groups with their members, and a caller who is in a tenth of the groups.

Seeded: two runs index the same messages and ask the same queries.
"""

from __future__ import annotations

import itertools
import random
import unicodedata
from datetime import datetime, timedelta

from records.base import message_id, utcnow
from records.facts import MessageSaved

VOCABULARY = 5000
ACCENTED = {40: "café", 120: "déjà", 300: "résumé", 800: "naïve", 2000: "façade", 3500: "über"}
"""Rank in the vocabulary → an accented word, searched for without its accents."""
PHRASES = 30
PHRASE_SHARE = 0.15
"""Messages that hold one of the set phrases (``see you tomorrow``, in pseudo-words)."""
ELSEWHERE = 10
ELSEWHERE_SHARE = 0.1
"""Words only the groups the caller is not in use, in this share of their messages: a
query's matches there, none in the caller's groups (the engine must not scan them all)."""
USERS = 5000
MEMBERS = 10
CALLER_EVERY = 10
"""The caller is a member of every tenth group."""
DAYS = 365
"""The stored messages span the year before now."""
CONSONANTS = "bcdfghjklmnprstvwz"
VOWELS = "aeiou"


def unaccented(word: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c))


def pseudo_words(rng: random.Random, count: int, taken: set[str]) -> list[str]:
    """Distinct pronounceable words, shorter for a lower rank (as a language's commonest)."""
    words: list[str] = []
    while len(words) < count:
        syllables = 1 + min(3, len(str(len(words))) - 1 + rng.randrange(2))
        word = "".join(rng.choice(CONSONANTS) + rng.choice(VOWELS) for _ in range(syllables))
        if rng.random() < 0.3:
            word += rng.choice(CONSONANTS)
        if word not in taken:
            taken.add(word)
            words.append(word)
    return words


class Corpus:
    """``count`` messages in ``groups`` groups, the i-th saved at its share of the year."""

    def __init__(self, count: int, groups: int = 1000, seed: int = 7) -> None:
        self.rng = rng = random.Random(seed)
        taken: set[str] = set()
        self.vocabulary = pseudo_words(rng, VOCABULARY, taken)
        for rank, word in ACCENTED.items():
            self.vocabulary[rank] = word
        self.weights = list(itertools.accumulate(1 / (r + 1) for r in range(VOCABULARY)))
        self.elsewhere = pseudo_words(rng, ELSEWHERE, taken)
        self.phrases = [
            " ".join(rng.sample(self.vocabulary[20:600], rng.choice((2, 3))))
            for _ in range(PHRASES)
        ]
        self.groups = [f"grp{g:04d}" for g in range(groups)]
        self.caller_groups = self.groups[::CALLER_EVERY]
        self._is_callers = set(self.caller_groups)
        self.members = {g: [f"user{u:04d}" for u in rng.sample(range(USERS), MEMBERS)]
                        for g in self.groups}  # fmt: skip
        self.seqs = dict.fromkeys(self.groups, 0)
        self.count = count
        self.start = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
        self.start -= timedelta(days=DAYS)

    def body(self, group: str) -> str:
        rng = self.rng
        length = max(1, min(40, round(rng.lognormvariate(2.0, 0.6))))  # median 7 words
        words = rng.choices(self.vocabulary, cum_weights=self.weights, k=length)
        if rng.random() < PHRASE_SHARE:
            words.insert(rng.randrange(len(words) + 1), rng.choice(self.phrases))
        if group not in self._is_callers and rng.random() < ELSEWHERE_SHARE:
            words.insert(rng.randrange(len(words) + 1), rng.choice(self.elsewhere))
        text = " ".join(words)
        return text[0].upper() + text[1:] + rng.choice(("", "", "", ".", "?", "!"))

    def message(self, n: int) -> MessageSaved:
        """The n-th stored message (0, 1, 2 …: saved in that order over the year)."""
        at = self.start + timedelta(days=DAYS) * (n / self.count)
        return self.saved(self.rng.choice(self.groups), at, f"c{n}")

    def live(self, n: int) -> MessageSaved:
        """A message saved now, in any group."""
        return self.saved(self.rng.choice(self.groups), utcnow(), f"live-{n}")

    def marker(self, n: int, token: str) -> MessageSaved:
        """A message saved now in one of the caller's groups, holding the word ``token``."""
        group = self.caller_groups[n % len(self.caller_groups)]
        return self.saved(group, utcnow(), f"mark-{n}", f"{self.body(group)} {token}")

    def saved(self, group: str, at: datetime, client_msg_id: str, body: str = "") -> MessageSaved:
        self.seqs[group] += 1
        sender = self.rng.choice(self.members[group])
        return MessageSaved(
            message_id=message_id(group, self.seqs[group]), group_id=group,
            seq=self.seqs[group], sender_id=sender, sender=sender, client_msg_id=client_msg_id,
            body=body or self.body(group), saved_at=at,
        )  # fmt: skip

    def queries(self) -> dict[str, list[str]]:
        """Each kind of query, as people type it, in 20 or so variants."""
        vocabulary, common = self.vocabulary, self.vocabulary[:20]
        medium = vocabulary[200:1000:40]
        users = sorted({u for g in self.caller_groups for u in self.members[g]})
        month = (self.start + timedelta(days=DAYS // 2)).date()
        long = [w for w in vocabulary[100:] if len(w) >= 6 and w.isascii()]
        return {
            "rare word": vocabulary[4000::50],
            "medium word": medium,
            "common word": common,
            "accents folded": [unaccented(w) for w in ACCENTED.values()],
            "two words": [f"{a} {b}" for a, b in zip(common, medium, strict=True)],
            "phrase": [f'"{p}"' for p in self.phrases[:20]],
            "prefix, 2 letters": list(dict.fromkeys(f"{w[:2]}*" for w in vocabulary[:60]))[:20],
            "prefix, 4 letters": list(dict.fromkeys(f"{w[:4]}*" for w in long))[:20],
            "from: and a word": [
                f"from:{u} {w}" for u, w in zip(users[::25], common, strict=False)
            ],
            "a month, a word": [
                f"{w} after:{month} before:{month + timedelta(days=32)}" for w in common
            ],
            "word only elsewhere": self.elsewhere,
        }

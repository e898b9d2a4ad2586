"""Raw user agents matched against the AI-agent list (pure, no ORM).

The rule: an agent's token matches case-insensitively at token boundaries. Letters, digits,
`-` and `_` make up tokens; anything else (or either end of the string) is a boundary. So
`GPTBot/1.2` and `Mozilla/5.0 ...; GPTBot/1.2; +https://openai.com/gptbot` name GPTBot, while
`NotGPTBot`, `GPTBot-Fake` and `x_gptbot` do not. When one user agent names several agents,
the token that appears first wins.

Speed (bench/agents.py): a batch is classified at once, with its distinct user agents joined
into one byte string in which one translation table turns every boundary character into a
space and folds ASCII case. Which listed tokens occur at all is one split and one set
intersection, and each occurring token is then found with `bytes.find` (C) as ` token` followed
by a space. The cost grows with the batch's bytes and its agent hits, not with the number of
agents listed. A regular expression alternation of the tokens, tried first, took 120 ms for
a 10,000-row batch with 24 agents and 780 ms with 524 (Python's engine tries each branch at
each position).
"""

from bisect import bisect_right
from collections.abc import Hashable, Iterable
from itertools import accumulate

TOKEN_BYTES = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")
# Token characters folded to lowercase; every other byte (non-ASCII included) becomes a space.
_TABLE = bytes(
    (byte | 0x20 if 65 <= byte <= 90 else byte) if byte in TOKEN_BYTES else 0x20
    for byte in range(256)
)


def token_valid(token: str) -> bool:
    return bool(token) and token.isascii() and all(ord(c) in TOKEN_BYTES for c in token)


class AgentMatcher:
    """Map raw user agents to agent keys; built once per agent list and reused.

    Entries are `(agent_key, token)`; a token that is not a valid token (see `token_valid`)
    can never match and is ignored, and of two entries with the same token the first wins.
    """

    def __init__(self, entries: Iterable[tuple[Hashable, str]]):
        self._keys: dict[bytes, Hashable] = {}
        for key, token in entries:
            token = token.strip()
            if token_valid(token):
                self._keys.setdefault(token.lower().encode("ascii"), key)

    def __len__(self) -> int:
        return len(self._keys)

    def match(self, raw_user_agent: str) -> Hashable | None:
        return self.classify([raw_user_agent])[0]

    def classify(self, raw_user_agents: list[str]) -> list[Hashable | None]:
        """The agent key of every user agent (None when it names no listed agent)."""
        if not self._keys or not raw_user_agents:
            return [None] * len(raw_user_agents)
        distinct = list(dict.fromkeys(raw_user_agents))
        encoded = [value.encode("utf-8", "surrogatepass") for value in distinct]
        # " ua0 ua1 ... " with boundaries as spaces: ` token ` is a whole token of one value.
        text = b" " + b" ".join(encoded).translate(_TABLE) + b" "
        starts = list(accumulate((len(value) + 1 for value in encoded), initial=1))
        found: dict[int, tuple[int, Hashable]] = {}  # value index -> (position, key)
        keys = self._keys
        for token in keys.keys() & set(text.split()):
            # ` token`, then a space after it: a needle ending in a space (the commonest byte)
            # defeats the skips of bytes.find and made the search ~10 times slower.
            key, needle, find = keys[token], b" " + token, text.find
            end = len(needle)
            position = find(needle)
            while position != -1:
                if text[position + end] == 0x20:
                    index = bisect_right(starts, position + 1) - 1
                    earlier = found.get(index)
                    if earlier is None or position < earlier[0]:
                        found[index] = (position, key)
                position = find(needle, position + end)
        by_value = {distinct[index]: key for index, (_, key) in found.items()}
        return [by_value.get(value) for value in raw_user_agents]

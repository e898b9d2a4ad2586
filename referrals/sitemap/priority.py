"""Priority pages: which pages of a brand its PriorityPath rules match, in Python and in SQL.

A brand has a few rules, read once per request (one query, brand-scoped); a page's flag is
computed over its path in Python, and the `is_priority` filter is the same test as one SQL
condition (an OR of the rules), so the listing's count and pagination stay in the database.
Paths compare by code point and case-sensitively, as the `path_prefix` filter does. A page
without a path (an Adobe page name) matches no rule.
"""

from dataclasses import dataclass
from urllib.parse import urlsplit

from django.db.models import Q, QuerySet
from django.db.models.functions import Substr

from referrals.allow_list.website import InvalidWebsite, website_canonical
from referrals.models import PriorityPath

NOT_A_PATH = "Enter a path starting with / or an http(s) URL."


@dataclass(frozen=True)
class Rule:
    website: str  # "" for every website of the brand
    path: str
    exact: bool

    def matches(self, *, website: str, path: str) -> bool:
        if not path or (self.website and self.website != website):
            return False
        if self.exact:
            return path == self.path
        head = self.path.rstrip("/")
        return path == head or path.startswith(head + "/")


def priority_rule_parse(value: str) -> tuple[str, str]:
    """(website, path) of a rule written as a path (`/pricing`) or a URL
    (`https://www.example.com/pricing`, whose host becomes the rule's website); ValueError
    otherwise. Query and fragment are dropped, as pages' paths drop them."""
    value = value.strip()
    if value.startswith("/"):
        return "", value.split("#", 1)[0].split("?", 1)[0]
    parts = urlsplit(value)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError(NOT_A_PATH)
    try:
        website = website_canonical(parts.hostname)
    except InvalidWebsite as exc:
        raise ValueError(str(exc)) from None
    return website, parts.path or "/"


def priority_rules(*, brand_id: int, website: str | None = None) -> list[Rule]:
    """The brand's rules that can match pages of `website` (all of them when None)."""
    rules = PriorityPath.objects.filter(brand_id=brand_id)
    if website is not None:
        rules = rules.filter(website__in=["", website])
    return [
        Rule(website=w, path=p, exact=m == PriorityPath.MATCH_EXACT)
        for w, p, m in rules.values_list("website", "path", "match")
    ]


def page_is_priority(page, rules: list[Rule]) -> bool:
    return any(rule.matches(website=page.website, path=page.path) for rule in rules)


def pages_mark_priority(pages, rules: list[Rule]) -> None:
    for page in pages:
        page.is_priority = page_is_priority(page, rules)


def pages_filter_priority(pages: QuerySet, rules: list[Rule], *, is_priority: bool) -> QuerySet:
    """Pages the rules match (or do not): one OR of path conditions, computed by the database."""
    condition = Q(pk__in=[])
    for index, rule in enumerate(rules):
        on_site = Q(website=rule.website) if rule.website else Q()
        if rule.exact:
            condition |= on_site & Q(path=rule.path)
            continue
        head = rule.path.rstrip("/") + "/"
        alias = f"priority_head_{index}"
        pages = pages.alias(**{alias: Substr("path", 1, len(head))})
        # The rule `/` has no equal path to match (a page without a path matches nothing).
        equal = Q(path=head[:-1]) if head != "/" else Q(pk__in=[])
        condition |= on_site & (equal | Q(**{alias: head}))
    if not rules:
        return pages if not is_priority else pages.none()
    return pages.filter(condition) if is_priority else pages.exclude(condition)

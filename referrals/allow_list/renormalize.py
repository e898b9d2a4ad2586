"""Re-apply the current allow-list to stored rows (renormalize_referrers)."""

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count

from referrals.allow_list.platforms import matcher_build
from referrals.models import AIPlatform, ReferralRow


@dataclass(frozen=True)
class RenormalizeChange:
    raw_referrer_value: str
    old_platform: str | None
    new_platform: str | None
    rows: int


def referrers_renormalize(*, dry_run: bool = False) -> list[RenormalizeChange]:
    """Re-apply the current allow-list to stored rows: one grouped read, one UPDATE per target.

    Rows whose referrer no longer matches keep their data with a NULL platform (the read side
    skips them); events once rejected were never stored, so they cannot come back here. The
    daily rollup follows by itself (the rows' triggers).
    """
    matcher = matcher_build()
    names = dict(AIPlatform.objects.values_list("id", "name"))
    grouped = (
        ReferralRow.objects.values_list("raw_referrer_value", "platform_id")
        .annotate(rows=Count("id"))
        .order_by()
    )
    changes: list[RenormalizeChange] = []
    targets: dict[int | None, list[str]] = {}
    for raw, platform_id, rows in grouped:
        new_id = matcher.match(raw)
        if new_id != platform_id:
            changes.append(RenormalizeChange(raw, names.get(platform_id), names.get(new_id), rows))
            targets.setdefault(new_id, []).append(raw)
    if not dry_run:
        with transaction.atomic():
            for new_id, raws in targets.items():
                for start in range(0, len(raws), 500):
                    ReferralRow.objects.filter(
                        raw_referrer_value__in=raws[start : start + 500]
                    ).update(platform_id=new_id)
    return sorted(changes, key=lambda change: (-change.rows, change.raw_referrer_value))

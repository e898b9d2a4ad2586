"""Admin deletion of the owners of big tables: a summary of counts, set-based deletes."""

from collections.abc import Callable

from django.contrib import admin
from django.contrib.auth import get_permission_codename
from django.db import connections, transaction
from django.db.models import Model, QuerySet
from django.utils.text import capfirst

from referrals.admin.big_tables import count_capped, count_label
from referrals.db.citus import citus_installed
from referrals.models import (
    AgentTrafficRow,
    ApiKey,
    Brand,
    Connection,
    DailyAgentTotal,
    DailyPlatformTotal,
    DroppedReferrer,
    DroppedUserAgent,
    GoogleAnalyticsIntegration,
    MonthlyPageTotal,
    Organization,
    PushLog,
    ReferralRow,
    SitemapPage,
)

# Deleted first, each with one DELETE, in this order. The rollups go before the rows: their
# delete trigger then finds nothing to subtract from (it never inserts), where matching each
# group against a million deleted rows took 80 s (a nested loop). The rows go before the
# pages they point at.
BIG_TABLES = (
    DailyPlatformTotal,
    MonthlyPageTotal,
    DailyAgentTotal,
    ReferralRow,
    AgentTrafficRow,
    PushLog,
    DroppedReferrer,
    DroppedUserAgent,
    SitemapPage,
)

Cascade = dict[type[Model], QuerySet]


def connections_cascade(connections: QuerySet) -> Cascade:
    """Everything deleting these connections deletes with them.

    Filtered by the connections' brands as well: brand_id leads the keys of those tables
    (their indexes since migration 0009; their shards on Citus, where the delete then goes to
    the brands' shards only instead of every shard).
    """
    brands = list(connections.values_list("brand_id", flat=True).distinct())  # values prune
    return {
        model: model.objects.filter(brand__in=brands, connection__in=connections)
        for model in (
            ReferralRow,
            DailyPlatformTotal,
            MonthlyPageTotal,
            AgentTrafficRow,
            DailyAgentTotal,
            PushLog,
            DroppedReferrer,
            DroppedUserAgent,
        )
    }


def brands_cascade(brands: QuerySet) -> Cascade:
    connections = Connection.objects.filter(brand__in=brands)
    return {
        Connection: connections,
        GoogleAnalyticsIntegration: GoogleAnalyticsIntegration.objects.filter(brand__in=brands),
        SitemapPage: SitemapPage.objects.filter(brand__in=brands),
        **connections_cascade(connections),
    }


def organizations_cascade(organizations: QuerySet) -> Cascade:
    brands = Brand.objects.filter(organization__in=organizations)
    members = Organization.members.through
    return {
        Brand: brands,
        ApiKey: ApiKey.objects.filter(organization__in=organizations),
        members: members.objects.filter(organization__in=organizations),
        **brands_cascade(brands),
    }


@transaction.atomic
def objects_delete(*, objects: QuerySet, cascade: Cascade) -> None:
    """Delete the big tables' share of the cascade set-based, then the objects themselves.

    `_raw_delete` is one DELETE statement; Django's collector would load every site-map page
    into memory to cascade to its rows (already deleted by then). What is left to the
    collector are a few connections, brands and keys.

    Citus: the deletes of distributed tables then of their owners (reference tables) share a
    transaction, which Citus allows only over one connection per node (otherwise "cannot
    execute DML on table referrals_connection because there was a parallel DML access").
    """
    db = connections[objects.db]
    if citus_installed(db=db):
        with db.cursor() as cursor:
            cursor.execute("SET LOCAL citus.multi_shard_modify_mode TO 'sequential'")
    # The lock a push takes first: a push in flight commits before the rows go, and a later
    # one finds no connection (410). Without it a push could land between the deletes of the
    # rows and of the connection, leaving rows of no connection (they have no FK constraint).
    doomed = cascade.get(Connection, objects if objects.model is Connection else None)
    if doomed is not None:
        list(doomed.select_for_update().order_by("pk").values_list("pk", flat=True))
    for model in BIG_TABLES:
        if model in cascade:
            cascade[model]._raw_delete(cascade[model].db)
    objects.delete()


class SummarizedDeleteAdmin(admin.ModelAdmin):
    """Deletes with a summary: a count per related model (capped) instead of Django's list of
    every object, which loads them all (millions of rows for a busy connection).

    `cascade` names everything deleting the objects deletes (a test holds it to Django's own
    collector). Deleting needs the delete permission of each model with something to delete,
    as in Django; these are model permissions, since the pipeline tables' admins refuse
    deleting their rows one by one.
    """

    cascade: Callable[[QuerySet], Cascade]  # a staticmethod: the selected objects' cascade

    def _selected(self, request, objs) -> QuerySet:
        # Through get_queryset: only what the user's organization scope holds is deleted.
        return self.get_queryset(request).filter(pk__in=[obj.pk for obj in objs])

    def get_deleted_objects(self, objs, request):
        objs = list(objs)
        to_delete = [f"{capfirst(self.opts.verbose_name)}: {obj}" for obj in objs]
        model_count = {self.opts.verbose_name_plural: count_label(len(objs))}
        perms_needed = set()
        for model, queryset in self.cascade(self._selected(request, objs)).items():
            count = count_capped(queryset)
            if not count:
                continue
            opts = model._meta
            model_count[opts.verbose_name_plural] = count_label(count)
            codename = get_permission_codename("delete", opts)
            if not opts.auto_created and not request.user.has_perm(f"{opts.app_label}.{codename}"):
                perms_needed.add(opts.verbose_name)
        return to_delete, model_count, perms_needed, []

    def delete_model(self, request, obj):
        self.delete_queryset(request, self._selected(request, [obj]))

    def delete_queryset(self, request, queryset):
        selected = self._selected(request, queryset)
        objects_delete(objects=selected, cascade=self.cascade(selected))

"""Django's database cache with an atomic incr(), so that worker processes can count in it."""

import base64
import pickle

from django.core.cache.backends.db import DatabaseCache
from django.db import connections, router
from django.utils.timezone import now as tz_now


class AtomicDatabaseCache(DatabaseCache):
    """DatabaseCache whose incr() loses no count when processes increment one key at once.

    Django's incr() reads the value, then writes value + delta: two workers may both read 5 and
    both write 6. Here the write is a compare-and-set (`UPDATE ... WHERE value = <the value
    read>`), tried again when another process changed the value in between: one statement,
    atomic on its own, so no transaction or row lock is held, on SQLite and PostgreSQL alike.
    The values are stored as DatabaseCache stores them (pickled, base64), so get() reads them.
    """

    def incr(self, key, delta=1, version=None):
        key = self.make_and_validate_key(key, version=version)
        connection = connections[router.db_for_write(self.cache_model_class)]
        quote_name = connection.ops.quote_name
        table, key_column, value_column = map(quote_name, (self._table, "cache_key", "value"))
        select = (
            f"SELECT {value_column} FROM {table} "
            f"WHERE {key_column} = %s AND {quote_name('expires')} > %s"
        )
        update = (
            f"UPDATE {table} SET {value_column} = %s "
            f"WHERE {key_column} = %s AND {value_column} = %s"
        )
        with connection.cursor() as cursor:
            while True:
                now = tz_now().replace(microsecond=0, tzinfo=None)  # as has_key() compares
                cursor.execute(select, [key, connection.ops.adapt_datetimefield_value(now)])
                row = cursor.fetchone()
                if row is None:
                    raise ValueError(f"Key '{key}' not found")
                stored = connection.ops.process_clob(row[0])
                value = pickle.loads(base64.b64decode(stored.encode())) + delta
                pickled = pickle.dumps(value, self.pickle_protocol)
                cursor.execute(update, [base64.b64encode(pickled).decode("latin1"), key, stored])
                if cursor.rowcount == 1:
                    return value

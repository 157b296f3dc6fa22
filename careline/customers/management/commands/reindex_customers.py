from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db.models import Max, Min

from careline.customers.models import Customer
from careline.customers.services import customer_reindex
from careline.customers.tasks import REINDEX_CHUNK, customer_reindex_task


class Command(BaseCommand):
    help = "Recompute the search columns of every customer (queued to the worker in chunks, or --now)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--now", action="store_true", help="Run in this process instead of the worker")

    def handle(self, *args: Any, **options: Any) -> None:
        bounds = Customer.objects.aggregate(lo=Min("pk"), hi=Max("pk"))
        if bounds["lo"] is None:
            self.stdout.write("No customers.")
            return
        jobs = 0
        done = 0
        for start in range(bounds["lo"], bounds["hi"] + 1, REINDEX_CHUNK):
            end = start + REINDEX_CHUNK - 1
            if options["now"]:
                done += customer_reindex(id_from=start, id_to=end)
            else:
                customer_reindex_task.enqueue(start, end)
                jobs += 1
        if options["now"]:
            self.stdout.write(f"Re-indexed {done:,} customers.")
        else:
            self.stdout.write(f"Queued {jobs} re-index jobs for the worker.")

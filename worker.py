"""The worker process: runs the workflows and activities of every process on the task queue."""

from __future__ import annotations

import asyncio
import logging
import signal
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from sqlalchemy.engine import Engine
from temporalio.client import Client
from temporalio.worker import Worker

from activities.calendar import CalendarActivities
from activities.contracts import ContractActivities
from activities.directory import DirectoryActivities
from activities.documents import DocumentActivities
from activities.incubation import IncubationActivities
from activities.notifications import NotificationActivities
from activities.policy import PolicyActivities
from activities.procurement import ProcurementActivities
from activities.read_model import ReadModelActivities
from service.connection import connect_temporal, read_model
from settings import Settings, get_settings
from workflows.contract import ContractWorkflow
from workflows.fair import FairWorkflow
from workflows.filing import FilingWorkflow
from workflows.incubation import IncubationWorkflow
from workflows.lot import LotWorkflow
from workflows.notify import NotificationDeliveryWorkflow

WORKFLOWS = [FilingWorkflow, FairWorkflow, LotWorkflow, ContractWorkflow, NotificationDeliveryWorkflow, IncubationWorkflow]

STICKY_QUEUE_TIMEOUT = timedelta(seconds=2)
"""A workflow task goes first to the queue of the worker that has the case cached ("sticky"); if that
worker died, the task moves to the shared queue only after this timeout (Temporal's default is 10 s,
which the first decision after a crash used to wait out). Measured here: sticky tasks start 2 ms
after they are scheduled (median), 23 ms at most (tests/golden). 2 s is ~100 times that; a live
but stalled worker that misses it costs only a replay of the case's history on some worker."""


def activities(settings: Settings, engine: Engine, client: Client) -> list[object]:
    calendar = CalendarActivities(engine)
    contracts = ContractActivities(engine, settings.policies_dir, settings.contract_history_limit or settings.history_limit)
    directory = DirectoryActivities(engine)
    documents = DocumentActivities(settings.documents_dir, engine)
    notifications = NotificationActivities(settings, engine, client)
    policy = PolicyActivities(settings.policies_dir, settings.history_limit)
    procurement = ProcurementActivities(engine, settings.policies_dir, settings.history_limit)
    read = ReadModelActivities(engine)
    incubation = IncubationActivities(engine, settings.policies_dir, settings.history_limit)
    return [
        calendar.compute_deadline,
        calendar.count_working_days,
        contracts.contract_policy,
        contracts.instruct_payment,
        contracts.record_disbursement,
        contracts.withhold_payments,
        contracts.record_performance,
        contracts.payee_account,
        directory.locate_community,
        directory.assign_post,
        documents.render_document,
        notifications.queue_notification,
        notifications.plan_delivery,
        notifications.send_notification,
        notifications.give_up_delivery,
        policy.assess_application,
        procurement.procurement_policy,
        procurement.screen_bids,
        procurement.expert_pool,
        procurement.record_contract,
        read.project_case,
        read.project_fair,
        read.project_lot,
        read.project_contract,
        incubation.incubation_base,
        incubation.incubation_policy,
        incubation.incubation_parties,
        incubation.claim_incubation_place,
        incubation.release_incubation_place,
        incubation.project_incubation,
    ]


def build_worker(client: Client, settings: Settings, engine: Engine) -> Worker:
    """Database and file activities are plain functions run on a thread pool, so one slow write
    never holds up the workflows and the other activities on the event loop."""
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=WORKFLOWS,
        activities=activities(settings, engine, client),
        activity_executor=ThreadPoolExecutor(max_workers=16, thread_name_prefix="shezu-activity"),
        sticky_queue_schedule_to_start_timeout=STICKY_QUEUE_TIMEOUT,
        # Heartbeats (every second, activities/heartbeat.py) reach the server at most this often; the SDK
        # would otherwise wait 0.8 x the 5 s heartbeat timeout between them, leaving a loaded machine 1 s
        # of margin before a live render is taken for a dead one. Only long activities heartbeat.
        max_heartbeat_throttle_interval=timedelta(seconds=1),
    )


async def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = get_settings()
    engine = read_model(settings)
    client = await connect_temporal(settings)
    worker = build_worker(client, settings, engine)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with worker:
        logging.info("worker polling task queue %s on %s", settings.task_queue, settings.temporal_address)
        await stop.wait()
    engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())

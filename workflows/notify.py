"""Delivering one notification outside the app: on each channel its recipient chose, sent by an
activity that Temporal retries with back-off (durable across worker restarts); when the attempts run
out the failure is recorded. The channels are decided by an activity, so the recipient's preferences
at the time of sending count and replay does not depend on them."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from schemas.notifications import Channel, Delivery, Send

QUICK = timedelta(seconds=10)
SENDING = timedelta(seconds=60)
"""One attempt at an SMTP conversation or a webhook call (each bounded to 30 s inside)."""
LONGEST_WAIT = timedelta(hours=1)


@workflow.defn
class NotificationDeliveryWorkflow:
    @workflow.run
    async def run(self, delivery: Delivery) -> list[Channel]:
        """Returns the channels it was delivered on."""
        channels = await workflow.execute_activity(
            "plan_delivery", delivery.key, result_type=list[Channel], start_to_close_timeout=QUICK,
            retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30)),
        )
        retry = RetryPolicy(
            initial_interval=timedelta(seconds=delivery.retry_seconds), backoff_coefficient=2.0,
            maximum_interval=max(LONGEST_WAIT, timedelta(seconds=delivery.retry_seconds)), maximum_attempts=delivery.attempts,
        )
        sends = [Send(key=delivery.key, channel=channel) for channel in channels]
        pending = [
            workflow.start_activity("send_notification", send, start_to_close_timeout=SENDING, retry_policy=retry)
            for send in sends
        ]
        delivered = []
        for send, handle in zip(sends, pending, strict=True):
            try:
                await handle
                delivered.append(send.channel)
            except ActivityError:
                await workflow.execute_activity(
                    "give_up_delivery", send, start_to_close_timeout=QUICK,
                    retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30)),
                )
        return delivered

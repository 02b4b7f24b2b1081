"""The standard dimensions: what results can be grouped by, and where each lives."""

from kpiforge import Dimension, hookimpl


@hookimpl
def kpiforge_register_dimensions():
    return [
        Dimension("channel", {"contacts": "channel"}, "call, chat, email..."),
        Dimension("queue", {"contacts": "queue"}, "the queue or skill a contact waited in"),
        Dimension("agent", {"contacts": "agent", "agent_intervals": "agent"},
                  "the agent who answered (contacts) or who was staffed (agent intervals)"),
        Dimension("customer", {"contacts": "customer_id", "customers": "customer_id"},
                  "the customer"),
    ]

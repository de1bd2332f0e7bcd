"""A small saga orchestrator persisted in PostgreSQL: a saga is a row written with the change
that starts it, driven by :class:`SagaRunner` through idempotent steps keyed by the saga id,
with retries, compensation in reverse and resumption after a crash."""

from tollgate_kit.saga._definition import (
    Action,
    PermanentFailure,
    SagaDefinition,
    SagaState,
    Step,
    StepContext,
)
from tollgate_kit.saga._metrics import SagaMetrics
from tollgate_kit.saga._runner import RunnerPolicy, SagaRunner
from tollgate_kit.saga._store import (
    SagaRecord,
    SagaStore,
    schema_sql,
    schema_statements,
    start_saga,
)

__all__ = [
    "Action",
    "PermanentFailure",
    "RunnerPolicy",
    "SagaDefinition",
    "SagaMetrics",
    "SagaRecord",
    "SagaRunner",
    "SagaState",
    "SagaStore",
    "Step",
    "StepContext",
    "schema_sql",
    "schema_statements",
    "start_saga",
]

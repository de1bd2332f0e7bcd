-- The saga table of tollgate_kit.saga. A service's migration applies this file once; a later
-- change to the shape is a new migration of every service that keeps sagas.
CREATE TABLE sagas (
    id              uuid        PRIMARY KEY,
    kind            text        NOT NULL,
    -- What the saga is about (a user id): the steps' own key, and how callers find it.
    subject         text        NOT NULL,
    state           text        NOT NULL DEFAULT 'running'
        CHECK (state IN ('running', 'compensating', 'completed', 'compensated', 'failed')),
    -- Index of the step to run next (running) or whose compensation runs next (compensating).
    step            integer     NOT NULL DEFAULT 0,
    -- Attempts of the current step; a step that succeeds resets it.
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text,
    -- Why the saga compensates: the reason of the step that failed for good.
    failure         text,
    -- Inputs of the steps, written by the change that started the saga.
    payload         jsonb       NOT NULL DEFAULT '{}'::jsonb,
    -- W3C trace context (traceparent, tracestate) of that change: every run continues it.
    trace_context   jsonb       NOT NULL DEFAULT '{}'::jsonb,
    -- Who holds the saga now: a runner writes only while its claim's token is still here.
    lease_token     uuid,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz
);
-- The runners' claim scans only unfinished sagas, in due order.
CREATE INDEX sagas_due_idx ON sagas (next_attempt_at) WHERE state IN ('running', 'compensating');
CREATE INDEX sagas_subject_idx ON sagas (subject, created_at);

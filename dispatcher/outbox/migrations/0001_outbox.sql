-- smpp-dispatcher schema version 1: the outbox (the producers' API) and the daemon's internal
-- bookkeeping. Applied by `smpp-dispatcher migrate` in one transaction.
--
-- A producer INSERTs a row and later reads its status:
--
--   INSERT INTO outbox (destination, source, body, client_ref)
--   VALUES ('+79031234567', 'MyShop', 'Your code is 4711', 'order-1843')
--   RETURNING id;
--
--   SELECT status, error_code, error_text FROM outbox WHERE client_ref = 'order-1843';
--
-- Statuses (the same on every route, SMPP or HTTP; the provider's own code and text are kept
-- in error_code / error_text beside them):
--   queued        waiting to be sent (new, or back after a transient failure)
--   sending       claimed by a daemon and on its way to a provider
--   submitted     accepted by the SMSC or provider; waiting for the delivery receipt
--   delivered     final: the handset has it (every part of a multipart message)
--   undeliverable final: the network could not deliver it
--   expired       final: the validity period ran out before delivery
--   rejected      final: refused (a bad row, an invalid destination, ...); never resent
--   failed        final: every allowed attempt failed
--   unknown       final: the outcome cannot be learned (no receipt within the validity, or a
--                 message in doubt after a crash under the "unknown" policy)
-- A final status never changes again; a receipt arriving later is kept with the message's
-- parts but does not change the message.
--
-- Tables and columns whose names start with dispatcher_ are the daemon's internal bookkeeping:
-- read them when debugging, never write them.

CREATE TABLE outbox (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    created_at    timestamptz NOT NULL DEFAULT now(),
    route         text        NOT NULL DEFAULT 'default',
    channel       text        NOT NULL DEFAULT 'sms',
    source        text,
    destination   text,
    body          text,
    priority      integer     NOT NULL DEFAULT 0,
    not_before    timestamptz,
    validity      integer,
    client_ref    text        UNIQUE,
    status        text        NOT NULL DEFAULT 'queued'
        CONSTRAINT outbox_status_known CHECK (status IN (
            'queued', 'sending', 'submitted', 'delivered', 'undeliverable', 'expired',
            'rejected', 'failed', 'unknown')),
    status_at     timestamptz NOT NULL DEFAULT now(),
    provider      text,
    error_code    text,
    error_text    text,
    attempts      integer     NOT NULL DEFAULT 0,
    parts         integer,
    submitted_at  timestamptz,
    done_at       timestamptz,
    -- internal: the claim lease and the in-doubt marker
    dispatcher_lease_owner text,
    dispatcher_lease_until timestamptz,
    dispatcher_written_at  timestamptz
);

-- Every row is updated several times on its way (claimed, written, submitted, final): leave
-- room on each page so updates that touch no indexed column stay on the page (HOT), and
-- vacuum and analyze well before the default 20 % of the table has changed.
ALTER TABLE outbox SET (
    fillfactor = 80,
    autovacuum_vacuum_scale_factor = 0.02,
    autovacuum_analyze_scale_factor = 0.02
);

COMMENT ON TABLE outbox IS
    'Messages to send: producers INSERT rows, smpp-dispatcher sends them and writes back the '
    'status. Columns starting with dispatcher_ are internal.';
COMMENT ON COLUMN outbox.id IS 'Identity, assigned by the database.';
COMMENT ON COLUMN outbox.created_at IS 'When the row was inserted.';
COMMENT ON COLUMN outbox.route IS
    'Name of a [routes.<name>] table of the configuration: which SMPP account or HTTP provider '
    'sends this message.';
COMMENT ON COLUMN outbox.channel IS 'sms (default) or another channel the route offers (viber).';
COMMENT ON COLUMN outbox.source IS
    'Sender: up to 11 Latin letters and digits, or up to 15 digits; NULL = the route''s sender.';
COMMENT ON COLUMN outbox.destination IS
    'Recipient in international format, digits only; a leading + or 00 is accepted and '
    'stripped. 5 to 15 digits.';
COMMENT ON COLUMN outbox.body IS
    'Message text. Long texts are split into parts (at most the route''s maximum).';
COMMENT ON COLUMN outbox.priority IS 'Higher is sent first; default 0.';
COMMENT ON COLUMN outbox.not_before IS 'Do not send before this time; NULL = as soon as possible.';
COMMENT ON COLUMN outbox.validity IS
    'Seconds the SMSC keeps trying to deliver; at least 60; NULL = the route''s default.';
COMMENT ON COLUMN outbox.client_ref IS
    'The producer''s own reference, unique when not NULL: inserting the same one twice fails.';
COMMENT ON COLUMN outbox.status IS
    'queued, sending, submitted, delivered, undeliverable, expired, rejected, failed, unknown '
    '(see the migration 0001_outbox.sql for their meaning). Final statuses never change.';
COMMENT ON COLUMN outbox.status_at IS 'When the status last changed.';
COMMENT ON COLUMN outbox.provider IS 'The SMPP account or HTTP provider that took the message.';
COMMENT ON COLUMN outbox.error_code IS
    'The provider''s own code for the outcome (SMPP command_status, receipt err, HTTP code).';
COMMENT ON COLUMN outbox.error_text IS 'What went wrong, in words (the provider''s text kept).';
COMMENT ON COLUMN outbox.attempts IS 'How many times a daemon claimed the row for sending.';
COMMENT ON COLUMN outbox.parts IS 'Number of SMS parts the body was sent as.';
COMMENT ON COLUMN outbox.submitted_at IS 'When the provider accepted the message.';
COMMENT ON COLUMN outbox.done_at IS 'When the message reached its final status.';
COMMENT ON COLUMN outbox.dispatcher_lease_owner IS 'Internal: the daemon holding the claim.';
COMMENT ON COLUMN outbox.dispatcher_lease_until IS
    'Internal: the claim expires then unless renewed; crash recovery requeues the row after.';
COMMENT ON COLUMN outbox.dispatcher_written_at IS
    'Internal: set just before the message is written to a provider; a row still sending '
    'with this set when its lease ran out is "in doubt" (it may have reached the provider).';

-- the claim query: queued rows, highest priority first, due rows before later ones
CREATE INDEX outbox_claim_idx ON outbox (priority DESC, not_before ASC NULLS FIRST, id)
    WHERE status = 'queued';
-- crash recovery: claims whose lease ran out
CREATE INDEX outbox_lease_idx ON outbox (dispatcher_lease_until) WHERE status = 'sending';
-- receipts overdue, messages past their validity
CREATE INDEX outbox_submitted_idx ON outbox (submitted_at) WHERE status = 'submitted';
-- `smpp-dispatcher status`: the latest errors
CREATE INDEX outbox_error_idx ON outbox (status_at DESC) WHERE error_text IS NOT NULL;

-- An idle daemon LISTENs on this channel and claims as soon as a producer commits an INSERT.
-- One notification per statement (a bulk INSERT wakes the daemon once); PostgreSQL delivers
-- it at commit.
CREATE FUNCTION dispatcher_notify_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('smpp_dispatcher_outbox', '');
    RETURN NULL;
END
$$;

CREATE TRIGGER outbox_notify AFTER INSERT ON outbox
    FOR EACH STATEMENT EXECUTE FUNCTION dispatcher_notify_outbox();


CREATE TABLE dispatcher_part (
    outbox_id      bigint      NOT NULL,
    part_index     smallint    NOT NULL,
    account        text        NOT NULL,
    message_id     text        NOT NULL,
    raw_message_id text        NOT NULL,
    status         text        NOT NULL DEFAULT 'submitted'
        CONSTRAINT dispatcher_part_status_known CHECK (status IN (
            'submitted', 'delivered', 'undeliverable', 'expired', 'rejected', 'failed',
            'unknown')),
    submitted_at   timestamptz NOT NULL DEFAULT now(),
    receipt_state  text,
    receipt_error  text,
    receipt_text   text,
    receipt_at     timestamptz,
    queried_at     timestamptz,
    query_count    integer     NOT NULL DEFAULT 0,
    PRIMARY KEY (outbox_id, part_index)
);

COMMENT ON TABLE dispatcher_part IS
    'Internal: one row per SMPP part or provider segment of a submitted message, with the id '
    'the provider gave it and what its receipt said.';
COMMENT ON COLUMN dispatcher_part.part_index IS 'Internal: 1-based position in the message.';
COMMENT ON COLUMN dispatcher_part.account IS
    'Internal: the SMPP account or HTTP provider account that accepted the part; receipts are '
    'matched by (account, message_id).';
COMMENT ON COLUMN dispatcher_part.message_id IS
    'Internal: the provider''s message id, normalised (hex/decimal, leading zeros, case) so a '
    'receipt written in another form still matches.';
COMMENT ON COLUMN dispatcher_part.raw_message_id IS
    'Internal: the id exactly as the provider returned it (for query_sm and support cases).';
COMMENT ON COLUMN dispatcher_part.status IS
    'Internal: submitted until a receipt or query gives a final outcome for this part.';
COMMENT ON COLUMN dispatcher_part.receipt_state IS
    'Internal: the provider''s state word (DELIVRD, UNDELIV, ...) from the latest receipt.';
COMMENT ON COLUMN dispatcher_part.queried_at IS
    'Internal: last time a status query (query_sm) was issued for this part.';

CREATE INDEX dispatcher_part_message_id_idx ON dispatcher_part (account, message_id);

-- Parts go with their message when a producer deletes outbox rows. A trigger rather than a
-- foreign key: checking a key costs about as much as writing the part, on the hottest path.
-- (TRUNCATE does not fire it: truncate outbox and dispatcher_part together.)
CREATE FUNCTION dispatcher_forget_parts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM dispatcher_part WHERE outbox_id IN (SELECT id FROM deleted_rows);
    RETURN NULL;
END
$$;

CREATE TRIGGER outbox_forget_parts AFTER DELETE ON outbox
    REFERENCING OLD TABLE AS deleted_rows
    FOR EACH STATEMENT EXECUTE FUNCTION dispatcher_forget_parts();

ALTER TABLE dispatcher_part SET (
    fillfactor = 80,
    autovacuum_vacuum_scale_factor = 0.02,
    autovacuum_analyze_scale_factor = 0.02
);


CREATE TABLE dispatcher_pending_receipt (
    id            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account       text        NOT NULL,
    message_id    text        NOT NULL,
    status        text        NOT NULL,
    receipt_state text,
    receipt_error text,
    receipt_text  text,
    received_at   timestamptz NOT NULL,
    recorded_at   timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE dispatcher_pending_receipt IS
    'Internal: receipts whose part is not known yet (the receipt came before the submit '
    'response was recorded). Matched as soon as the part is recorded; dropped after a '
    'configurable age.';

CREATE INDEX dispatcher_pending_receipt_message_id_idx
    ON dispatcher_pending_receipt (account, message_id);
CREATE INDEX dispatcher_pending_receipt_recorded_idx ON dispatcher_pending_receipt (recorded_at);


CREATE TABLE dispatcher_incoming (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account     text        NOT NULL,
    source      text        NOT NULL,
    destination text        NOT NULL,
    body        text        NOT NULL,
    received_at timestamptz NOT NULL,
    parts       integer     NOT NULL DEFAULT 1,
    details     jsonb       NOT NULL DEFAULT '{}',
    dedupe_key  text        NOT NULL UNIQUE,
    stored_at   timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE dispatcher_incoming IS
    'Incoming (MO) messages, reassembled from their parts. Read-only for applications.';
COMMENT ON COLUMN dispatcher_incoming.details IS
    'How the message arrived: parts, concatenation reference, data coding, SMSC ids.';
COMMENT ON COLUMN dispatcher_incoming.dedupe_key IS
    'Derived from the SMSC''s identifiers of the message: a repeated delivery is stored once.';

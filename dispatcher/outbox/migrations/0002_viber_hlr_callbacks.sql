-- smpp-dispatcher schema version 2: Viber channels, callbacks from providers, HLR results.
--
-- Producers may now INSERT rows with channel 'viber' (a Viber message) or 'viber_sms' (a
-- Viber message the provider re-sends as an SMS when Viber does not deliver it), on a route
-- with `viber = [...]` providers:
--
--   INSERT INTO outbox (route, channel, destination, source, body)
--   VALUES ('default', 'viber_sms', '79031234567', 'MyShop', 'Your code is 4711');
--
-- The outbox row's status is the message's; the status of each leg (Viber, and the SMS
-- re-send) is kept in dispatcher_viber_leg.

COMMENT ON COLUMN outbox.channel IS
    'sms (default), viber (a Viber message), or viber_sms (Viber, re-sent as an SMS by the '
    'provider when Viber does not deliver). The Viber channels need a route with viber '
    'providers.';


CREATE TABLE dispatcher_viber_leg (
    outbox_id  bigint      NOT NULL,
    leg        text        NOT NULL CONSTRAINT dispatcher_viber_leg_known CHECK (leg IN ('viber', 'sms')),
    status     text        NOT NULL
        CONSTRAINT dispatcher_viber_leg_status_known CHECK (status IN (
            'submitted', 'delivered', 'undeliverable', 'expired', 'rejected', 'failed',
            'unknown')),
    state      text,
    detail     text,
    ids        text[]      NOT NULL DEFAULT '{}',
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (outbox_id, leg)
);

COMMENT ON TABLE dispatcher_viber_leg IS
    'Internal: the status of each leg of a Viber message (the Viber message, and the SMS the '
    'provider re-sent for a viber_sms row), as the provider last reported it. A final leg '
    'status never changes.';
COMMENT ON COLUMN dispatcher_viber_leg.state IS
    'Internal: the provider''s raw state of the leg (delivered, undelivered, ...).';
COMMENT ON COLUMN dispatcher_viber_leg.detail IS
    'Internal: the provider''s error code or description for the leg.';
COMMENT ON COLUMN dispatcher_viber_leg.ids IS 'Internal: the SMS leg''s segment ids.';

CREATE FUNCTION dispatcher_forget_viber_legs() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM dispatcher_viber_leg WHERE outbox_id IN (SELECT id FROM deleted_rows);
    RETURN NULL;
END
$$;

CREATE TRIGGER outbox_forget_viber_legs AFTER DELETE ON outbox
    REFERENCING OLD TABLE AS deleted_rows
    FOR EACH STATEMENT EXECUTE FUNCTION dispatcher_forget_viber_legs();


CREATE TABLE dispatcher_callback (
    dedupe_key  text        PRIMARY KEY,
    kind        text        NOT NULL,
    provider_id text,
    known       boolean     NOT NULL,
    payload     jsonb       NOT NULL DEFAULT '{}',
    received_at timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE dispatcher_callback IS
    'Internal: every status callback a provider POSTed to the daemon, once each (a repeated '
    'callback finds its dedupe_key taken). known = false: about a message this database never '
    'sent (kept for support cases, applied to nothing).';
CREATE INDEX dispatcher_callback_received_idx ON dispatcher_callback (received_at);


CREATE TABLE dispatcher_hlr (
    number      text        PRIMARY KEY,
    verdict     text        NOT NULL
        CONSTRAINT dispatcher_hlr_verdict_known CHECK (verdict IN (
            'pending', 'alive', 'unreachable', 'dead', 'unknown', 'invalid')),
    state_code  integer,
    description text,
    country     text,
    operator    text,
    provider    text        NOT NULL,
    checked_at  timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE dispatcher_hlr IS
    'The latest HLR lookup of each number (smpp-dispatcher hlr): alive, unreachable, dead '
    '(the subscriber does not exist), unknown or invalid. Routes with skip_dead_numbers '
    'reject rows to numbers found dead within hlr.max_age.';
COMMENT ON COLUMN dispatcher_hlr.number IS 'Digits only, international format, no +.';

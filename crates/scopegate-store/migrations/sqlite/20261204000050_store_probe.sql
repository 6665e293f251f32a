-- The readiness probe (`Store::ready`) writes a row here and deletes it in one committed
-- transaction: a store that cannot commit a write is not ready. Always empty between probes.
CREATE TABLE store_probe (
    at BIGINT NOT NULL,
    pad TEXT NOT NULL
);

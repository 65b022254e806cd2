-- Stored times as readers show them. Every read goes through these, so that
-- no stored row can make a read fail, whatever an older agentlog stored:
-- agentlog refuses such times at ingest now (proto/times.py), but a database
-- may hold spans from before that ended before they started, or at times past
-- what a TIMESTAMP_NS holds.
--
-- A time in Unix nanoseconds (UBIGINT) as a TIMESTAMP_NS; NULL past the latest
-- one it holds (2262-04-11T23:47:16.854775806Z; 2^63 - 1 stands for infinity).
CREATE OR REPLACE MACRO ns_timestamp(ns) AS
    make_timestamp_ns(CASE WHEN ns <= 9223372036854775806 THEN ns END::BIGINT);
-- Milliseconds from start_ns to end_ns; 0 when the end is before the start
-- (a UBIGINT subtraction would fail there); NULL when either is NULL.
CREATE OR REPLACE MACRO elapsed_ms(start_ns, end_ns) AS
    CASE WHEN end_ns >= start_ns THEN (end_ns - start_ns) / 1e6 WHEN end_ns < start_ns THEN 0.0 END;

-- Durations kept as histograms: bucket b holds the durations in (G^(b-1), G^b]
-- milliseconds, G = 1.02 / 0.98, and stands for 2 G^b / (G + 1), which is
-- within 2 % of every duration in it (the DDSketch mapping). Histograms of
-- different days merge by adding counts, which quantiles themselves cannot.
-- Durations under a microsecond (or negative: a skewed clock) count as one.
CREATE OR REPLACE MACRO duration_bucket(ms) AS
    ceil(ln(greatest(ms, 0.001)) / ln(1.02 / 0.98))::SMALLINT;
CREATE OR REPLACE MACRO bucket_duration(bucket) AS
    2 * pow(1.02 / 0.98, bucket) / (1.02 / 0.98 + 1);
-- The duration at fractional rank `rank` from the buckets of the durations
-- at floor(rank) and ceil(rank), interpolated as quantile_cont does.
CREATE OR REPLACE MACRO interpolated_duration(low, high, rank) AS
    bucket_duration(low) + (rank - floor(rank)) * (bucket_duration(high) - bucket_duration(low));

-- What a running node shows: its input, model and tool as the normaliser read
-- them from the marker (whatever the convention), not only input.value.
ALTER TABLE pending_spans ADD COLUMN input VARCHAR;
ALTER TABLE pending_spans ADD COLUMN model VARCHAR;
ALTER TABLE pending_spans ADD COLUMN tool_name VARCHAR;
UPDATE pending_spans SET input = attributes->>'$."input.value"';

-- Runs at every tick of settings.cadence (06:00 New York time). The input is input.schedule: one row,
-- schedule_trigger_time, the tick's time as ISO 8601 UTC text (all input columns are Nullable(String));
-- parseDateTimeBestEffort makes it a DateTime. records.products is reference data: every product loaded
-- so far, each column text (tags as a JSON array, in_stock as true/false, launch_date as YYYY-MM-DD).
--
-- Out: only the products whose status tags must change, with their whole new tag list. The session runs
-- in UTC; at 06:00 in New York the UTC date is New York's date too.
CREATE TABLE output.products ENGINE = Memory AS
WITH
    (SELECT toDate(parseDateTimeBestEffort(schedule_trigger_time)) FROM input.schedule) AS tick_date,
    (SELECT toUInt32(value) FROM meta.parameters WHERE name = 'new_arrival_days') AS new_arrival_days,
    JSONExtract(ifNull(tags, '[]'), 'Array(String)') AS current_tags,
    toDateOrNull(launch_date) AS launched,
    in_stock = 'false' AS out_of_stock,
    launched IS NOT NULL AND launched <= tick_date AND dateDiff('day', launched, tick_date) < new_arrival_days
        AS new_arrival,
    arrayConcat(
        arrayFilter(t -> t NOT IN ('Out of stock', 'New arrival'), current_tags),
        if(out_of_stock, ['Out of stock'], []),
        if(new_arrival, ['New arrival'], [])
    ) AS wanted_tags
SELECT
    id                        AS product_id,
    name                      AS product_name,
    toJSONString(wanted_tags) AS tags
FROM records.products
WHERE arraySort(wanted_tags) != arraySort(current_tags)
ORDER BY product_name;

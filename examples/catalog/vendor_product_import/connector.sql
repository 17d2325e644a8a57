-- One messy catalog export in, one clean scope out: trimmed names, upper-case SKUs, lower-case emails,
-- exact duplicate rows removed. Prices, dates and flags stay text: the typed variables parse them.
CREATE TABLE output.catalog ENGINE = MergeTree ORDER BY tuple() AS
SELECT
    trim(vendor_name)         AS vendor_name,
    lower(trim(vendor_email)) AS vendor_email,
    vendor_phone,
    upper(trim(sku))          AS sku,
    trim(product_name)        AS product_name,
    price,
    launch_date,
    in_stock,
    category,
    tags
FROM (SELECT DISTINCT * FROM input.page_idx_0)
WHERE sku IS NOT NULL
ORDER BY sku;

-- Fail loudly, with a message, if the export lost its vendor column.
SELECT throwIf(countIf(vendor_name IS NULL) = count(), 'every row lacks a vendor name: is this the catalog export?')
FROM output.catalog;

-- Suppliers post product updates as JSON (data/product-update.json). Each cadence window arrives as
-- input.webhooks: one row per call, the body typed as ClickHouse JSON. One row comes out per product,
-- and when several calls in the window name the same SKU, the newest call wins.
CREATE TABLE output.stock ENGINE = MergeTree ORDER BY tuple() AS
SELECT
    sku,
    argMax(vendor_name, received_at)  AS vendor_name,
    argMax(vendor_email, received_at) AS vendor_email,
    argMax(vendor_phone, received_at) AS vendor_phone,
    argMax(product_name, received_at) AS product_name,
    argMax(price, received_at)        AS price,
    argMax(in_stock, received_at)     AS in_stock,
    argMax(category, received_at)     AS category
FROM (
    SELECT
        received_at,
        upper(trim(product.sku::String))                   AS sku,
        trim(body.supplier.name::String)                   AS vendor_name,
        nullIf(lower(trim(body.supplier.email::String)), '') AS vendor_email,
        nullIf(body.supplier.phone::String, '')            AS vendor_phone,
        trim(product.name::String)                         AS product_name,
        nullIf(product.price::String, '')                  AS price,
        nullIf(product.in_stock::String, '')               AS in_stock,
        nullIf(product.category::String, '')               AS category
    FROM input.webhooks
    ARRAY JOIN body.products[] AS product
    -- Other events, and calls that are not JSON, are not product updates.
    WHERE body_format = 'json' AND body.event::String = 'products.updated'
)
WHERE sku != ''
GROUP BY sku
ORDER BY sku;

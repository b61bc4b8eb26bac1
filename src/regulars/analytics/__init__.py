"""Customer analytics: SQL over a DuckDB table of transactions, statistics on the aggregates.

Every analysis reads one shape, the ``transactions`` table of a DuckDB connection:

=============  =========  ==============================================
column         type       meaning
=============  =========  ==============================================
customer_id    VARCHAR    pseudonymous customer (member) id
purchased_at   TIMESTAMP  when the sale happened (local time of the shop)
amount         DOUBLE     money paid, after discounts; never negative
receipt_id     VARCHAR    the sale; NULL when the source has no receipts
sku            VARCHAR    the product; NULL when the source has no lines
=============  =========  ==============================================

``transactions.py`` builds it from a plain file or from the warehouse.
"""

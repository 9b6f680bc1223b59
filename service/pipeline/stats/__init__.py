"""Leadership's numbers: the facts of each ticket, the rollups kept from them, the queries over them, and their verification."""

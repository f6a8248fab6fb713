"""The knowledge base: Markdown articles under `data_dir/kb/<language>/`, indexed in the
database for full-text search, suggested to residents before and after they ask."""

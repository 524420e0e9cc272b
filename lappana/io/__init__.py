"""Reading and writing lstchain's files: HDF5 tables (PyTables, blosc:zstd), DL1, DL2."""

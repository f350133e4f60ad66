"""dfcc: a compiler from PyTorch and linalg MLIR to streaming dataflow FPGA accelerators."""

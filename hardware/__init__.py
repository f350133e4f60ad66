"""dfcc's one hardware cost model: pure functions from plain numbers to cycles and resources.

platforms (boards), cycles (latency, II, throughput), dsp, memory (BRAM18/URAM and buffer
dimensions), offchip (AutoWS/SMOF spilling), logic (analytical LUT/FF), roofline (upper bounds).
No IR here: the estimate backend and the DSE read folding from the IR and call these.
"""

"""Weights checked on their format's grid once: only numbers no one can change are remembered."""

from types import SimpleNamespace

import numpy as np
import pytest
from xdsl.dialects.builtin import StringAttr

from dfcc.dialects.dataflow import FixedType
from dfcc.dialects.resources import make_resource, resource_array
from dfcc.errors import DfccError
from dfcc.kinds.weights import check_on_grid

OP = SimpleNamespace(node_name=StringAttr("w"))
FMT = FixedType(8, 6)  # 2 fraction bits: a grid of 0.25


def test_a_new_blob_keeps_its_numbers_when_the_caller_changes_its_array():
    values = np.array([0.25, 0.5], dtype=np.float32)
    attr = make_resource("grid_cache", values)
    values[0] = 0.3
    assert resource_array(attr).tolist() == [0.25, 0.5]
    check_on_grid(OP, resource_array(attr), FMT)


def test_a_writeable_array_is_checked_again_after_a_change():
    values = np.array([0.25, 0.5])
    check_on_grid(OP, values, FMT)
    values[0] = 0.3
    with pytest.raises(DfccError, match="not on the grid"):
        check_on_grid(OP, values, FMT)
    with pytest.raises(DfccError, match="not on the grid"):
        check_on_grid(OP, np.array([0.25, 0.5]), FixedType(8, 7))  # same numbers, a grid of 0.5

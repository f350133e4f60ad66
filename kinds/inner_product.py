"""How a MAC kind (conv, linear) takes each filter's inner product: its products one by one, or paired by
Winograd's fast inner product (FFIP, hardware/ffip.py; the kernels' inner_product.h), as its IR says.

`dataflow.inner_product` on the node is "direct" (or absent) or "ffip"; with "ffip" the node pairs its products at
the foldings where that takes fewer DSPs (`pairs_products`), the one rule its cost, explore and the HLS emitter
read. explore offers "ffip" to every node that can pair at its widest folding (`offer_ffip`); a user may write
"direct". A node kind that can pair states its widest step (`ffip_extent`: filters and products, None when it
cannot pair: floating point, a grouped conv) and its step at a folding (`ffip_step`, None where that folding takes no
products to pair: a Winograd conv's).
"""

from __future__ import annotations

from collections.abc import Mapping

from xdsl.dialects.builtin import StringAttr
from xdsl.ir import Operation
from xdsl.utils.exceptions import VerifyException

from dfcc.dialects.fixed_point import fixed_of
from dfcc.hardware.ffip import ffip_pays
from dfcc.kinds.cost import stream_bits, weight_bits

INNER_PRODUCT_ATTR = "dataflow.inner_product"
INNER_PRODUCTS = ("direct", "ffip")


def check_inner_product(op: Operation) -> None:
    """The verifier's check of the attribute."""
    product = op.attributes.get(INNER_PRODUCT_ATTR)
    if product is not None and not (isinstance(product, StringAttr) and product.data in INNER_PRODUCTS):
        raise VerifyException(f"{op.name} '{op.node_name.data}': {INNER_PRODUCT_ATTR} must be one of "
                              f"{', '.join(INNER_PRODUCTS)}, got {product}")


def fixed_mac(op: Operation) -> bool:
    """Whether the node's products are on integer codes (fixed-point input and output), which FFIP needs."""
    return fixed_of(op.input) is not None and fixed_of(op.output) is not None


def _pays(op: Operation, filters: int, products: int) -> bool:
    return ffip_pays(filters, products, stream_bits(op.input), fixed_of(op.input).is_signed, weight_bits(op.weights))


def pairs_products(op: Operation, folding: Mapping[str, int]) -> bool:
    """Whether the node pairs its products by FFIP at `folding`: its IR asks for it, it can (`ffip_extent`) and it
    takes fewer DSPs with the filter lanes and products of its step there (`ffip_step`)."""
    product = op.attributes.get(INNER_PRODUCT_ATTR)
    if not (isinstance(product, StringAttr) and product.data == "ffip") or op.ffip_extent() is None:
        return False
    step = op.ffip_step(folding)
    return step is not None and _pays(op, *step)


def offer_ffip(op: Operation) -> None:
    """Explore's offer: "ffip" on a node that can pair its products and where that pays at its widest step (not
    where the widths pack two products a DSP already), unless its IR says how it takes them."""
    extent = getattr(op, "ffip_extent", lambda: None)()
    if extent is not None and INNER_PRODUCT_ATTR not in op.attributes and _pays(op, *extent):
        op.attributes[INNER_PRODUCT_ATTR] = StringAttr("ffip")

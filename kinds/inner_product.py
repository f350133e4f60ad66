"""How a MAC kind (conv, linear) takes each filter's inner product: its products one by one, or paired by
Winograd's fast inner product (FFIP, hardware/ffip.py; the kernels' inner_product.h), as its IR says.

`dataflow.inner_product` on the node is "direct" (or absent) or "ffip"; with "ffip" the node pairs its products at
the foldings where that takes fewer DSPs (`pairs_products`), the one rule its cost, explore and the HLS emitter
read. Where DSPs bind, explore searches both per node, as it does the multipliers' implementation
(`searched_products`: a design point's inner product, its Choice's last element; passes/explore.py step 5), and
writes the one it picks; a value the IR already has (a user's "direct" or "ffip") is kept. A node kind that can pair states its widest step (`ffip_extent`: filters and
products, None when it cannot pair: floating point, a grouped conv) and its step at a folding (`ffip_step`, None
where that folding takes no products to pair: a Winograd conv's).
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


def pairs_products(op: Operation, folding: Mapping[str, int], product: str | None = None) -> bool:
    """Whether the node pairs its products by FFIP at `folding`: `product` (None: its IR's) asks for it, it can
    (`ffip_extent`) and it takes fewer DSPs with the filter lanes and products of its step there (`ffip_step`)."""
    if product is None:
        attr = op.attributes.get(INNER_PRODUCT_ATTR)
        product = attr.data if isinstance(attr, StringAttr) else "direct"
    if product != "ffip" or op.ffip_extent() is None:
        return False
    step = op.ffip_step(folding)
    return step is not None and _pays(op, *step)


def _can_pair(op: Operation) -> bool:
    """Whether FFIP ever pays on the node: it can pair, and does with fewer DSPs at its widest step (not where the
    widths pack two products a DSP already)."""
    extent = getattr(op, "ffip_extent", lambda: None)()
    return extent is not None and _pays(op, *extent)


def ir_product(op: Operation) -> str | None:
    """The node's inner product as a design point carries it: None where FFIP never pays (nothing to choose),
    else the IR's ("direct" where absent)."""
    if not _can_pair(op):
        return None
    attr = op.attributes.get(INNER_PRODUCT_ATTR)
    return attr.data if isinstance(attr, StringAttr) else "direct"


def searched_products(op: Operation) -> tuple[str | None, ...]:
    """The inner products explore weighs on the node: both where FFIP may pay and its IR says neither, else the one
    it has (`ir_product`)."""
    if _can_pair(op) and INNER_PRODUCT_ATTR not in op.attributes:
        return INNER_PRODUCTS
    return (ir_product(op),)


def products_written(module: Operation) -> dict[Operation, StringAttr | None]:
    """Each MAC node's inner product as its IR has it (None: absent), for `restore_products`."""
    return {op: op.attributes.get(INNER_PRODUCT_ATTR) for op in module.walk() if hasattr(op, "ffip_extent")}


def restore_products(written: dict[Operation, StringAttr | None]) -> None:
    """Back to the inner products `products_written` read: explore searching again (Explore's FIFO rounds) weighs
    again those a user left it, not the ones its last search wrote."""
    for op, product in written.items():
        if product is None:
            op.attributes.pop(INNER_PRODUCT_ATTR, None)
        else:
            op.attributes[INNER_PRODUCT_ATTR] = product


def write_product(op: Operation, product: str | None) -> None:
    """Write explore's pick (None: the node had nothing to choose, its IR stays as it was)."""
    if product is not None:
        op.attributes[INNER_PRODUCT_ATTR] = StringAttr(product)

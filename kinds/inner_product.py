"""How a MAC kind (conv, linear) takes each filter's inner product: its products one by one, or paired by
Winograd's fast inner product (FFIP, hardware/ffip.py; the kernels' inner_product.h), as its IR says.

`dataflow.inner_product` on the node is "direct" (or absent) or "ffip"; with "ffip" the node pairs its products at
the foldings where that takes fewer DSPs (`pairs_products`), the one rule its cost, explore and the HLS emitter
read. Where DSPs bind, explore searches both per node, as it does the multipliers' implementation
(`searched_products`: a design point's inner product, its Choice's last element; passes/explore.py step 5), and
writes the one it picks; a value the IR had before its first search (a user's "direct" or "ffip",
`products_written`) is kept by every search of the pass. A node kind that can pair states its widest step
(`ffip_extent`: filters and products, None when it cannot pair: floating point, a grouped conv) and its step at a
folding (`ffip_step`, None where that folding takes no products to pair: a Winograd conv's).
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
        product = written_product(op) or "direct"
    if product != "ffip" or op.ffip_extent() is None:
        return False
    step = op.ffip_step(folding)
    return step is not None and _pays(op, *step)


def _can_pair(op: Operation) -> bool:
    """Whether FFIP ever pays on the node: it can pair, and does with fewer DSPs at its widest step (not where the
    widths pack two products a DSP already)."""
    extent = getattr(op, "ffip_extent", lambda: None)()
    return extent is not None and _pays(op, *extent)


def written_product(op: Operation) -> str | None:
    """The inner product the node's IR asks for (None: none, explore's to choose): the one reader of the attribute."""
    attr = op.attributes.get(INNER_PRODUCT_ATTR)
    return attr.data if isinstance(attr, StringAttr) else None


def point_product(op: Operation, written: str | None) -> str | None:
    """The node's inner product as a design point carries it, `written` being what its IR asked for: None where
    FFIP never pays (nothing to choose), else `written` ("direct" where None)."""
    return (written or "direct") if _can_pair(op) else None


def ir_product(op: Operation) -> str | None:
    """The node's inner product as a design point carries it, as its IR has it (`point_product`)."""
    return point_product(op, written_product(op))


def searched_products(op: Operation, written: str | None) -> tuple[str | None, ...]:
    """The inner products explore weighs on the node, `written` being what the user's IR asked for (None: none):
    both where FFIP may pay and the user left it to explore, else the one it has (`point_product`)."""
    if written is None and _can_pair(op):
        return INNER_PRODUCTS
    return (point_product(op, written),)


def products_written(module: Operation) -> dict[Operation, str | None]:
    """Each MAC node's inner product as the IR has it (`written_product`): read once, before explore's first search
    writes its own picks, what every later search of the same pass weighs (passes/explore.py)."""
    return {op: written_product(op) for op in module.walk() if hasattr(op, "ffip_extent")}


def write_product(op: Operation, product: str | None) -> None:
    """Write explore's pick (None: the node had nothing to choose, its IR stays as it was)."""
    if product is not None:
        op.attributes[INNER_PRODUCT_ATTR] = StringAttr(product)

"""Every feature's tables, imported together so the metadata and migrations see them all."""

from regulars.catalog import models as catalog
from regulars.demo import models as demo
from regulars.members import models as members
from regulars.sales import models as sales

__all__ = ["catalog", "demo", "members", "sales"]

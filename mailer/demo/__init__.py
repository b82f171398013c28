"""Demo data for a first look at the product: ``mailer demo`` and ``mailer run --demo``.

A press release written for the product (``release/<language>.md``, in the front-matter format
of `mailer.rendering.frontmatter`, shipped inside this package) in English, Russian, Tajik,
Kazakh, Kyrgyz, Polish and Uzbek, and about sixty synthetic journalists on reserved domains
(`journalists`) in two lists, with one saved segment. `load.load_demo` puts them in the
database through the ordinary services, and does nothing twice.
"""

from mailer.demo.load import DemoReport, load_demo

__all__ = ["DemoReport", "load_demo"]

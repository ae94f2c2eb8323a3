"""The label-efficiency benchmark's parts; ``bench_loop.py`` is its command line.

- ``data``: the datasets with their pool / test splits and cached embeddings
- ``simulation``: the simulated annotator against the service's own selection and head
- ``runner``: simulations in parallel processes
- ``variants``: other selections to compare with (``--variants``)
- ``report`` / ``plots``: the JSON summary, comparisons with random, table and charts
"""
